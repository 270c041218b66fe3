/**
 * The default @moleculer/channels adapter: durable channels kept in the service database (embedded
 * PGlite, or PostgreSQL when DATABASE_URL is set, where several nodes then share one log).
 *
 * Why not the channels `Fake` adapter: it rides on broker events, so under moleculer 0.15 a burst
 * overflows the events bulkhead (QUEUE_FULL) and loses messages, and it keeps nothing across a
 * restart. Here a publish resolves only once the message is committed, so a burst just queues in
 * the database and whatever a publisher was told was accepted survives a crash.
 *
 * Storage (schema `channels` by default):
 * - `groups(channel, grp)`: every consumer group ever seen on a channel. It is what lets a message
 *   published while a group's consumers are all down wait for them.
 * - `messages(id, channel, payload, headers, published_at)`: the payload as the serializer wrote it.
 * - `deliveries(channel, grp, message_id, attempts, available_at)`: one row per message and group,
 *   written in the same transaction as the message (fan-out at publish time). A consumer cursor over
 *   a bigserial would skip a row whose id was taken before a neighbour's but committed after the
 *   cursor moved on; per-group rows cannot be skipped that way.
 *
 * Delivery is at-least-once, like the Redis and NATS adapters:
 * - claim: UPDATE … FOR UPDATE SKIP LOCKED sets attempts+1 and a lease (available_at = now()+lease),
 *   so consumers of one group share the work without duplicates, and a consumer that dies mid-message
 *   leaves a claim that becomes visible again when its lease runs out. Leases of running handlers
 *   are renewed, so a slow handler is not redelivered while it still works.
 * - success deletes the delivery; failure makes it available again after an exponential backoff;
 *   after `maxRetries` deliveries (the library's meaning: NATS and Redis count deliveries the same
 *   way) the message goes to the dead-letter channel, or is dropped with an error log.
 * - a group seen for the first time gets deliveries for every retained message of its channel.
 *   "Register group" and "publish" are serialised by an advisory lock per channel (exclusive for
 *   the first, shared for the second), so no message commits between the backfill and the group.
 * - messages with no delivery left are deleted once older than the retention (24 h by default).
 *
 * Wake-ups: a publish wakes consumers in this process at once; consumers also poll (250 ms by
 * default) for messages from other processes, retries that came due and expired leases.
 */
import { EventEmitter } from "node:events";
import path from "node:path";
import { Adapters } from "@moleculer/channels";
import { Errors, type Logger, type ServiceBroker } from "moleculer";
import { acquireDatabase, DatabaseLease, DatabaseTarget, runMigrations, SqlClient, SqlExecutor, type Migration } from "../sql";
import { assertIdentifier } from "../sql/migrations";
import { isSqlError, SQLSTATE } from "../sql/types";

/** Header names the library's adapters use on dead-lettered messages (src/constants.js, untyped). */
export const HEADER_ORIGINAL_CHANNEL = "x-original-channel";
export const HEADER_ORIGINAL_GROUP = "x-original-group";
export const HEADER_ORIGINAL_ID = "x-original-id";
/** Ours: why the last delivery failed, so whoever reads the dead-letter channel need not dig in logs. */
export const HEADER_ERROR = "x-error";

/** Metric names the library registers (src/constants.js has no typings). */
const METRIC_ERRORS = "moleculer.channels.messages.errors.total";
const METRIC_RETRIES = "moleculer.channels.messages.retries.total";
const METRIC_DEAD_LETTERED = "moleculer.channels.messages.deadLettering.total";

export interface SqlChannelAdapterOptions {
	/** Which database holds the channels; the same target as the services' shares one engine. */
	database: DatabaseTarget;
	/** Schema of the channel tables. Nodes that should exchange messages must use the same one. */
	schema?: string;
	/** How often each subscription looks for messages from other processes, due retries, expired leases. */
	pollIntervalMs?: number;
	/** How long a claimed message stays invisible to the rest of its group; renewed while the handler runs. */
	leaseMs?: number;
	/** Delay before the first retry of a failed message; doubles with every delivery, up to maxRetryDelayMs. */
	retryDelayMs?: number;
	maxRetryDelayMs?: number;
	/** Fully consumed messages older than this are deleted; a new group starts this far back. */
	retentionMs?: number;
	gcIntervalMs?: number;
	/** Publishes pending together are written in one transaction of at most this many messages. */
	publishBatchSize?: number;
	// The library's common options (see @moleculer/channels src/adapters/base.js).
	prefix?: string | null;
	consumerName?: string;
	serializer?: string;
	maxRetries?: number;
	maxInFlight?: number;
	deadLettering?: { enabled?: boolean; queueName?: string };
}

type ResolvedOptions = Required<Omit<SqlChannelAdapterOptions, "deadLettering" | "prefix" | "consumerName">> & {
	prefix: string | null;
	consumerName: string | null;
	deadLettering: { enabled: boolean; queueName: string };
};

const DEFAULTS = {
	schema: "channels",
	pollIntervalMs: 250,
	leaseMs: 30_000,
	retryDelayMs: 1_000,
	maxRetryDelayMs: 60_000,
	retentionMs: 24 * 60 * 60 * 1000,
	gcIntervalMs: 60_000,
	publishBatchSize: 1_000,
} as const;

/** What a handler gets as its second argument (`raw`), and what the middleware reads headers from. */
export interface SqlChannelMessage {
	id: number;
	channel: string;
	group: string;
	payload: unknown;
	headers: Record<string, string> | null;
	/** 1 on the first delivery. */
	attempts: number;
	publishedAt: Date;
}

/** The channel definition as the middleware hands it to the adapter (src/index.js serviceCreated). */
interface SubscribedChannel {
	id: string;
	name: string;
	group: string;
	unsubscribing: boolean;
	maxInFlight?: number | null;
	maxRetries?: number | null;
	deadLettering?: { enabled?: boolean; queueName?: string } | null;
	handler: (payload: unknown, raw: SqlChannelMessage) => Promise<unknown>;
}

interface ResolvedChannel extends SubscribedChannel {
	maxInFlight: number;
	maxRetries: number;
	deadLettering: { enabled: boolean; queueName: string };
}

interface Subscription {
	chan: ResolvedChannel;
	/** Claimed deliveries being handled or acked: message id → attempts (the fencing token). */
	claims: Map<number, number>;
	claiming: boolean;
	/**
	 * Messages may be due that no claim has looked for yet: set by wake-ups, polls and retry timers
	 * (also while a claim runs or every slot is busy), and when a claim filled every free slot.
	 * A finishing handler claims again only then, not after every message.
	 */
	dirty: boolean;
	pumpScheduled: boolean;
	closed: boolean;
	pollTimer: NodeJS.Timeout;
	retryTimers: Set<NodeJS.Timeout>;
	/** Set by the first unsubscribe; later callers (disconnect) wait for the same drain. */
	stopped: Promise<void> | null;
	onWake: () => void;
	idleWaiters: Array<() => void>;
	lastClaimFailed: boolean;
}

interface ClaimedRow {
	id: number;
	attempts: number;
	payload: Uint8Array;
	headers: Record<string, string> | null;
	published_at: Date;
}

interface PendingPublish {
	channel: string;
	payload: Uint8Array;
	headers: Record<string, unknown> | null;
	resolve: () => void;
	reject: (err: unknown) => void;
}

interface PendingAck {
	channel: string;
	group: string;
	id: number;
	done: () => void;
}

const MIGRATIONS: readonly Migration[] = [
	{
		version: 1,
		name: "channel log with per-group deliveries",
		up: `
			create table groups (
				channel text not null,
				grp text not null,
				created_at timestamptz not null default now(),
				primary key (channel, grp)
			);
			create table messages (
				id bigserial primary key,
				channel text not null,
				payload bytea not null,
				headers jsonb,
				published_at timestamptz not null default now()
			);
			create index messages_published_at on messages (published_at);
			create table deliveries (
				channel text not null,
				grp text not null,
				message_id bigint not null references messages (id),
				attempts integer not null default 0,
				available_at timestamptz not null default now(),
				primary key (channel, grp, message_id)
			);
			-- GC asks "does any group still need this message?"
			create index deliveries_message on deliveries (message_id);
		`,
	},
];

/**
 * Consumers in this process wake up on a commit here instead of waiting for their next poll. Keyed
 * by database and schema, so two brokers on one database in one process (tests, embedded mode with
 * several nodes) wake each other, and unrelated databases do not.
 */
const wakeups = new EventEmitter();
wakeups.setMaxListeners(0);

function databaseKey(target: DatabaseTarget): string {
	if (target.url) return `pg:${target.url}`;
	return target.dataDir ? `pglite:${path.resolve(target.dataDir)}` : "pglite:memory";
}

/** bytea arrives as Buffer from pg and Uint8Array from PGlite; serializers want a Buffer. */
function toBuffer(bytes: Uint8Array): Buffer {
	return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function errorMessage(err: unknown): string {
	return err instanceof Error ? err.message : String(err);
}

/**
 * The part of the library's BaseAdapter (src/adapters/base.js) that adapters build on and the
 * middleware calls. Its shipped d.ts types handlers as `Function`, requires fields the middleware
 * fills later and fails strict checks, so it is described here once.
 */
export interface ChannelsBaseOptions {
	prefix: string | null;
	consumerName: string | null;
	serializer: string;
	maxRetries: number;
	maxInFlight: number;
	deadLettering: { enabled: boolean; queueName: string };
}

export declare class ChannelAdapter {
	constructor(opts?: object);
	opts: ChannelsBaseOptions;
	/** True between a successful connect() and disconnect(); what readiness checks read. */
	connected: boolean;
	broker: ServiceBroker;
	logger: Logger;
	serializer: { serialize(value: unknown): Buffer; deserialize(bytes: Buffer): unknown };
	init(broker: ServiceBroker, logger: Logger): void;
	addPrefixTopic(name: string): string;
	initChannelActiveMessages(channelId: string, toThrow?: boolean): void;
	stopChannelActiveMessages(channelId: string): void;
	addChannelActiveMessages(channelId: string, ids: Array<string | number>): void;
	removeChannelActiveMessages(channelId: string, ids: Array<string | number>): void;
	getNumberOfChannelActiveMessages(channelId: string): number;
	metricsIncrement(metric: string, chan: { name: string; group: string }): void;
	parseMessageHeaders(raw: unknown): Record<string, string> | null;
	connect(): Promise<void>;
	disconnect(): Promise<void>;
	subscribe(chan: any, svc?: unknown): Promise<void>;
	unsubscribe(chan: any): Promise<void>;
	publish(channelName: string, payload: unknown, opts?: any): Promise<void>;
}

const BaseAdapter = Adapters.Base as unknown as typeof ChannelAdapter;

export class SqlChannelAdapter extends BaseAdapter {
	declare opts: ResolvedOptions;

	private lease: DatabaseLease | null = null;
	private readonly subscriptions = new Map<string, Subscription>();
	private wakeKeyPrefix = "";
	private pendingPublishes: PendingPublish[] = [];
	private publishScheduled = false;
	private publishing: Promise<void> | null = null;
	private pendingAcks: PendingAck[] = [];
	private ackScheduled = false;
	private acking: Promise<void> | null = null;
	private gcTimer: NodeJS.Timeout | null = null;
	private renewTimer: NodeJS.Timeout | null = null;
	/** GC and lease renewals under way, awaited before the database is released. */
	private readonly housekeeping = new Set<Promise<unknown>>();
	/** Set once disconnect has drained everything: publishing is refused from then on. */
	private closed = false;

	constructor(options: SqlChannelAdapterOptions) {
		// An option given as undefined means "not set", not "no value".
		const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
		super({ ...DEFAULTS, ...given });
		assertIdentifier(this.opts.schema, "channels schema name");
	}

	private get client(): SqlClient {
		if (!this.lease) throw new Errors.MoleculerRetryableError("The SQL channel adapter is not connected", 503, "CHANNELS_NOT_CONNECTED");
		return this.lease.client;
	}

	private table(name: "groups" | "messages" | "deliveries"): string {
		return `"${this.opts.schema}".${name}`;
	}

	/** The advisory lock that orders group registration against publishing on one channel. */
	private channelLockKey(channel: string): string {
		return `lootopia:channels:${this.opts.schema}:${channel}`;
	}

	override async connect(): Promise<void> {
		const lease = await acquireDatabase(this.opts.database);
		try {
			await runMigrations(lease.client, this.opts.schema, MIGRATIONS);
		} catch (err) {
			await lease.release();
			throw err;
		}
		this.lease = lease;
		this.closed = false;
		this.wakeKeyPrefix = `${databaseKey(this.opts.database)}|${this.opts.schema}|`;

		this.gcTimer = setInterval(() => this.track(this.collectGarbage().catch(err => this.logger.warn("Channel garbage collection failed:", errorMessage(err)))), this.opts.gcIntervalMs);
		this.gcTimer.unref();
		this.renewTimer = setInterval(() => this.track(this.renewLeases()), Math.max(50, Math.floor(this.opts.leaseMs / 3)));
		this.renewTimer.unref();
		this.connected = true;
	}

	override async disconnect(): Promise<void> {
		// Normally the middleware unsubscribed every channel in serviceStopping already; a broker that
		// failed half-way through start may still have some.
		await Promise.all([...this.subscriptions.values()].map(sub => this.unsubscribe(sub.chan)));
		// Handlers may have published while they drained; let those commit before closing.
		while (this.pendingPublishes.length || this.publishing || this.pendingAcks.length || this.acking) {
			await (this.publishing ?? this.acking ?? new Promise(resolve => setImmediate(resolve)));
		}
		this.closed = true;
		if (this.gcTimer) clearInterval(this.gcTimer);
		if (this.renewTimer) clearInterval(this.renewTimer);
		this.gcTimer = this.renewTimer = null;
		await Promise.allSettled([...this.housekeeping]);
		this.connected = false;
		const lease = this.lease;
		this.lease = null;
		await lease?.release();
	}

	/** Readiness: the database answers. */
	async ping(): Promise<void> {
		await this.client.ping();
	}

	private track(work: Promise<unknown>): void {
		this.housekeeping.add(work);
		void work.finally(() => this.housekeeping.delete(work));
	}

	// --- publishing --------------------------------------------------------------------------------

	override async publish(channelName: string, payload: unknown, opts: { raw?: boolean; headers?: Record<string, unknown> } | null = {}): Promise<void> {
		if (!this.connected || this.closed) throw new Errors.MoleculerRetryableError("The SQL channel adapter is not connected. Skipping publishing.", 503, "CHANNELS_NOT_CONNECTED");
		const bytes = opts?.raw ? (payload as Uint8Array) : this.serializer.serialize(payload);
		await new Promise<void>((resolve, reject) => {
			this.pendingPublishes.push({ channel: channelName, payload: bytes, headers: opts?.headers ?? null, resolve, reject });
			this.schedulePublishFlush();
		});
	}

	/**
	 * Publishes of the same tick (a Promise.all burst, fan-out from one handler) share one transaction:
	 * PGlite does a few thousand statements a second but inserts tens of thousands of rows a second in
	 * batches. One flush runs at a time; what arrives meanwhile forms the next batch.
	 */
	private schedulePublishFlush(): void {
		if (this.publishScheduled || this.publishing) return;
		this.publishScheduled = true;
		setImmediate(() => {
			this.publishScheduled = false;
			this.publishing = this.flushPublishes().finally(() => {
				this.publishing = null;
				if (this.pendingPublishes.length) this.schedulePublishFlush();
			});
		});
	}

	private async flushPublishes(): Promise<void> {
		while (this.pendingPublishes.length) {
			const batch = this.pendingPublishes.splice(0, this.opts.publishBatchSize);
			try {
				await this.client.transaction(tx => this.insertMessages(tx, batch));
				for (const item of batch) item.resolve();
				this.wake(batch.map(item => item.channel));
			} catch (err) {
				if (batch.length === 1) {
					batch[0].reject(err);
					continue;
				}
				// One bad message must not fail its neighbours: write them one by one to find it.
				for (const item of batch) {
					try {
						await this.client.transaction(tx => this.insertMessages(tx, [item]));
						item.resolve();
						this.wake([item.channel]);
					} catch (itemErr) {
						item.reject(itemErr);
					}
				}
			}
		}
	}

	/** Writes messages and their deliveries to every known group of their channel (in `tx`). */
	private async insertMessages(tx: SqlExecutor, batch: ReadonlyArray<Pick<PendingPublish, "channel" | "payload" | "headers">>): Promise<void> {
		const channels = [...new Set(batch.map(item => item.channel))];
		// Shared: publishers never wait for each other, only for a group being registered.
		await tx.query("select pg_advisory_xact_lock_shared(hashtextextended(k, 0)) from unnest($1::text[]) as k", [channels.map(c => this.channelLockKey(c))]);
		// A statement takes at most 65,535 parameters; 1,000 rows of 3 stay far below.
		for (let start = 0; start < batch.length; start += 1000) {
			const rows = batch.slice(start, start + 1000);
			const params: unknown[] = [];
			const values = rows.map(row => {
				params.push(row.channel, row.payload, row.headers === null ? null : JSON.stringify(row.headers));
				const n = params.length;
				return `($${n - 2}, $${n - 1}::bytea, $${n}::jsonb)`;
			});
			await tx.query(
				`with inserted as (
					insert into ${this.table("messages")} (channel, payload, headers) values ${values.join(", ")}
					returning id, channel
				)
				insert into ${this.table("deliveries")} (channel, grp, message_id)
				select i.channel, g.grp, i.id from inserted i join ${this.table("groups")} g on g.channel = i.channel`,
				params,
			);
		}
	}

	private wake(channels: Iterable<string>): void {
		for (const channel of new Set(channels)) wakeups.emit(this.wakeKeyPrefix + channel);
	}

	// --- subscribing -------------------------------------------------------------------------------

	override async subscribe(chanDefinition: SubscribedChannel): Promise<void> {
		const chan = chanDefinition as ResolvedChannel;
		// Same defaulting as the library's adapters, so a channel behaves alike on every backend.
		if (chan.maxInFlight == null) chan.maxInFlight = this.opts.maxInFlight;
		if (chan.maxRetries == null) chan.maxRetries = this.opts.maxRetries;
		chan.deadLettering = { ...this.opts.deadLettering, ...(chanDefinition.deadLettering ?? {}) } as ResolvedChannel["deadLettering"];
		if (chan.deadLettering.enabled) chan.deadLettering.queueName = this.addPrefixTopic(chan.deadLettering.queueName);

		await this.registerGroup(chan.name, chan.group);
		this.initChannelActiveMessages(chan.id);

		const sub: Subscription = {
			chan,
			claims: new Map(),
			claiming: false,
			dirty: true,
			pumpScheduled: false,
			closed: false,
			pollTimer: setInterval(() => this.requestClaim(sub), this.opts.pollIntervalMs),
			retryTimers: new Set(),
			stopped: null,
			onWake: () => this.requestClaim(sub),
			idleWaiters: [],
			lastClaimFailed: false,
		};
		// Never the reason a process stays alive: the broker's own servers and transporter do that.
		sub.pollTimer.unref();
		this.subscriptions.set(chan.id, sub);
		wakeups.on(this.wakeKeyPrefix + chan.name, sub.onWake);
		this.pump(sub);
	}

	/**
	 * Remembers the group and, the first time it is seen, gives it every retained message of the
	 * channel. The exclusive channel lock waits for publishes in flight and holds new ones back, so
	 * each message either is visible to the backfill or sees the group row.
	 */
	private async registerGroup(channel: string, group: string): Promise<void> {
		const known = await this.client.query(`select 1 from ${this.table("groups")} where channel = $1 and grp = $2`, [channel, group]);
		if (known.rows.length) return;
		for (let attempt = 1; ; attempt++) {
			try {
				const backfilled = await this.client.transaction(async tx => {
					await tx.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [this.channelLockKey(channel)]);
					const inserted = await tx.query(`insert into ${this.table("groups")} (channel, grp) values ($1, $2) on conflict do nothing returning grp`, [channel, group]);
					if (!inserted.rows.length) return 0;
					const result = await tx.query(
						`insert into ${this.table("deliveries")} (channel, grp, message_id)
						select channel, $2, id from ${this.table("messages")}
						where channel = $1 and published_at >= now() - $3 * interval '1 millisecond'
						on conflict do nothing`,
						[channel, group, this.opts.retentionMs],
					);
					return result.rowCount;
				});
				if (backfilled) this.logger.info(`New group '${group}' of channel '${channel}' starts with ${backfilled} retained message(s).`);
				return;
			} catch (err) {
				// The garbage collector may delete a message the backfill just selected (both sides of the
				// retention boundary within one clock tick): the foreign key refuses it; run again.
				if (attempt < 3 && isSqlError(err, SQLSTATE.foreignKeyViolation)) continue;
				throw err;
			}
		}
	}

	override async unsubscribe(chanDefinition: SubscribedChannel): Promise<void> {
		chanDefinition.unsubscribing = true;
		const sub = this.subscriptions.get(chanDefinition.id);
		if (!sub) return;
		sub.stopped ??= this.stopSubscription(sub);
		await sub.stopped;
	}

	private async stopSubscription(sub: Subscription): Promise<void> {
		const { chan } = sub;
		sub.closed = true;
		clearInterval(sub.pollTimer);
		for (const timer of sub.retryTimers) clearTimeout(timer);
		wakeups.off(this.wakeKeyPrefix + chan.name, sub.onWake);

		// Graceful: messages being handled finish and are acked (or failed) before we let go.
		if (sub.claiming || sub.claims.size) {
			this.logger.info(`Waiting for ${sub.claims.size} message(s) of '${chan.name}' (group '${chan.group}') to finish...`);
			await new Promise<void>(resolve => sub.idleWaiters.push(resolve));
		}
		this.stopChannelActiveMessages(chan.id);
		this.subscriptions.delete(chan.id);
	}

	private notifyIfIdle(sub: Subscription): void {
		if (sub.claiming || sub.claims.size) return;
		const waiters = sub.idleWaiters.splice(0);
		for (const resolve of waiters) resolve();
	}

	// --- consuming ---------------------------------------------------------------------------------

	private requestClaim(sub: Subscription): void {
		sub.dirty = true;
		this.schedulePump(sub);
	}

	/** Coalesces wake-ups of one tick (a batch commit, several acks) into one claim. */
	private schedulePump(sub: Subscription): void {
		if (sub.pumpScheduled || sub.closed) return;
		sub.pumpScheduled = true;
		setImmediate(() => {
			sub.pumpScheduled = false;
			this.pump(sub);
		});
	}

	private pump(sub: Subscription): void {
		// A running claim or a finishing handler comes back here while `dirty` is set.
		if (sub.closed || sub.claiming || !sub.dirty) return;
		const free = sub.chan.maxInFlight - sub.claims.size;
		if (free <= 0) return;

		sub.claiming = true;
		sub.dirty = false;
		this.claim(sub.chan, free).then(
			rows => {
				sub.claiming = false;
				if (sub.lastClaimFailed) this.logger.info(`Channel '${sub.chan.name}' (group '${sub.chan.group}') reads again.`);
				sub.lastClaimFailed = false;
				if (sub.closed) {
					// Stopped while the claim ran: hand the messages straight back to the group.
					this.track(this.release(sub.chan, rows));
					this.notifyIfIdle(sub);
					return;
				}
				// A full batch: more are probably due.
				if (rows.length === free) sub.dirty = true;
				for (const row of rows) this.deliver(sub, row);
				if (sub.dirty) this.schedulePump(sub);
			},
			err => {
				sub.claiming = false;
				// One log line per outage, not one per poll.
				if (!sub.lastClaimFailed) this.logger.error(`Cannot read channel '${sub.chan.name}' (group '${sub.chan.group}'); retrying every poll:`, errorMessage(err));
				sub.lastClaimFailed = true;
				// Left clean: the next poll tries again, rather than every finishing handler at once.
				this.notifyIfIdle(sub);
			},
		);
	}

	private async claim(chan: ResolvedChannel, limit: number): Promise<ClaimedRow[]> {
		const { rows } = await this.client.query<ClaimedRow>(
			`with due as (
				select channel, grp, message_id from ${this.table("deliveries")}
				where channel = $1 and grp = $2 and available_at <= now()
				order by message_id
				limit $3
				for update skip locked
			), claimed as (
				update ${this.table("deliveries")} d
				set attempts = d.attempts + 1, available_at = now() + $4 * interval '1 millisecond'
				from due
				where d.channel = due.channel and d.grp = due.grp and d.message_id = due.message_id
				returning d.message_id, d.attempts
			)
			select c.message_id as id, c.attempts, m.payload, m.headers, m.published_at
			from claimed c join ${this.table("messages")} m on m.id = c.message_id
			order by c.message_id`,
			[chan.name, chan.group, limit, this.opts.leaseMs],
		);
		return rows;
	}

	/** Gives claimed messages back untouched (attempt not counted), e.g. when the consumer stopped meanwhile. */
	private async release(chan: ResolvedChannel, rows: ClaimedRow[]): Promise<void> {
		if (!rows.length) return;
		await this.client
			.query(
				`update ${this.table("deliveries")} d set attempts = d.attempts - 1, available_at = now()
				from unnest($3::bigint[], $4::int[]) as c(id, attempts)
				where d.channel = $1 and d.grp = $2 and d.message_id = c.id and d.attempts = c.attempts`,
				[chan.name, chan.group, rows.map(r => r.id), rows.map(r => r.attempts)],
			)
			.catch(err => this.logger.warn(`Could not release ${rows.length} claimed message(s); they return when their lease expires:`, errorMessage(err)));
	}

	private deliver(sub: Subscription, row: ClaimedRow): void {
		const { chan } = sub;
		sub.claims.set(row.id, row.attempts);
		this.addChannelActiveMessages(chan.id, [row.id]);
		const maxDeliveries = Math.max(1, chan.maxRetries);

		const settle = async (): Promise<void> => {
			if (row.attempts > maxDeliveries) {
				// Earlier deliveries ended with neither ack nor failure (consumer crashed or lost its lease
				// maxRetries times): running the handler again would only repeat that.
				await this.giveUp(chan, row, new Error(`delivered ${row.attempts - 1} times without being acknowledged`));
				return;
			}
			let failure: unknown = undefined;
			let failed = false;
			try {
				const payload = this.serializer.deserialize(toBuffer(row.payload));
				const raw: SqlChannelMessage = { id: row.id, channel: chan.name, group: chan.group, payload, headers: row.headers, attempts: row.attempts, publishedAt: row.published_at };
				await chan.handler(payload, raw);
			} catch (err) {
				failed = true;
				failure = err;
			}
			if (!failed) {
				await this.ack(chan, row.id);
				return;
			}
			this.metricsIncrement(METRIC_ERRORS, chan);
			if (row.attempts >= maxDeliveries) {
				await this.giveUp(chan, row, failure);
			} else {
				await this.retryLater(sub, row, failure);
			}
		};

		settle()
			.catch(err => this.logger.error(`Channel '${chan.name}' (group '${chan.group}'): could not record the outcome of message ${row.id}; it returns when its lease expires:`, errorMessage(err)))
			.finally(() => {
				sub.claims.delete(row.id);
				this.removeChannelActiveMessages(chan.id, [row.id]);
				this.notifyIfIdle(sub);
				this.schedulePump(sub);
			});
	}

	/**
	 * Acks are batched like publishes: one DELETE per tick instead of one per message. Unconditional
	 * (no attempts check): once a handler succeeded, the message is done for the group even if its
	 * lease had expired and another consumer holds it now.
	 */
	private ack(chan: ResolvedChannel, id: number): Promise<void> {
		return new Promise(resolve => {
			this.pendingAcks.push({ channel: chan.name, group: chan.group, id, done: resolve });
			if (this.ackScheduled || this.acking) return;
			this.ackScheduled = true;
			setImmediate(() => this.flushAcks());
		});
	}

	private flushAcks(): void {
		this.ackScheduled = false;
		const batch = this.pendingAcks.splice(0);
		if (!batch.length) return;
		this.acking = this.client
			.query(
				`delete from ${this.table("deliveries")} d
				using unnest($1::text[], $2::text[], $3::bigint[]) as a(channel, grp, id)
				where d.channel = a.channel and d.grp = a.grp and d.message_id = a.id`,
				[batch.map(a => a.channel), batch.map(a => a.group), batch.map(a => a.id)],
			)
			.then(
				() => undefined,
				err => this.logger.error(`Could not acknowledge ${batch.length} message(s); they will be delivered again:`, errorMessage(err)),
			)
			.finally(() => {
				for (const item of batch) item.done();
				this.acking = null;
				if (this.pendingAcks.length) {
					this.ackScheduled = true;
					setImmediate(() => this.flushAcks());
				}
			});
	}

	private async retryLater(sub: Subscription, row: ClaimedRow, err: unknown): Promise<void> {
		const { chan } = sub;
		const delay = Math.min(this.opts.retryDelayMs * 2 ** (row.attempts - 1), this.opts.maxRetryDelayMs);
		this.logger.warn(
			`Channel '${chan.name}' (group '${chan.group}'): message ${row.id} failed (delivery ${row.attempts} of ${Math.max(1, chan.maxRetries)}); retrying in ${delay} ms:`,
			errorMessage(err),
		);
		this.metricsIncrement(METRIC_RETRIES, chan);
		// Fenced by attempts: if our lease had expired and someone else claimed it, leave theirs alone.
		await this.client.query(
			`update ${this.table("deliveries")} set available_at = now() + $5 * interval '1 millisecond'
			where channel = $1 and grp = $2 and message_id = $3 and attempts = $4`,
			[chan.name, chan.group, row.id, row.attempts, delay],
		);
		// Polling would find it too; this keeps short retry delays short.
		const timer = setTimeout(() => {
			sub.retryTimers.delete(timer);
			this.requestClaim(sub);
		}, delay + 5);
		timer.unref();
		sub.retryTimers.add(timer);
	}

	/** Out of retries: into the dead-letter channel (same transaction as removing the delivery) or dropped. */
	private async giveUp(chan: ResolvedChannel, row: ClaimedRow, err: unknown): Promise<void> {
		const deliveryKey = [chan.name, chan.group, row.id, row.attempts];
		const removeDelivery = `delete from ${this.table("deliveries")} where channel = $1 and grp = $2 and message_id = $3 and attempts = $4`;
		if (!chan.deadLettering.enabled) {
			await this.client.query(removeDelivery, deliveryKey);
			this.logger.error(`Channel '${chan.name}' (group '${chan.group}'): dropped message ${row.id} after ${row.attempts} deliveries (dead-lettering is off):`, errorMessage(err));
			return;
		}
		const queue = chan.deadLettering.queueName;
		const moved = await this.client.transaction(async tx => {
			const removed = await tx.query(removeDelivery, deliveryKey);
			// Someone else holds a newer claim on it: theirs to finish, not ours to dead-letter.
			if (!removed.rowCount) return false;
			const headers = {
				...(row.headers ?? {}),
				[HEADER_ORIGINAL_ID]: String(row.id),
				[HEADER_ORIGINAL_CHANNEL]: chan.name,
				[HEADER_ORIGINAL_GROUP]: chan.group,
				[HEADER_ERROR]: errorMessage(err).slice(0, 1000),
			};
			await this.insertMessages(tx, [{ channel: queue, payload: row.payload, headers }]);
			return true;
		});
		if (!moved) return;
		this.wake([queue]);
		this.metricsIncrement(METRIC_DEAD_LETTERED, chan);
		this.logger.warn(`Channel '${chan.name}' (group '${chan.group}'): moved message ${row.id} to '${queue}' after ${row.attempts} deliveries:`, errorMessage(err));
	}

	/** Keeps the leases of running handlers, so a slow handler is not handed to another consumer. */
	private async renewLeases(): Promise<void> {
		const channels: string[] = [];
		const groups: string[] = [];
		const ids: number[] = [];
		const attempts: number[] = [];
		for (const sub of this.subscriptions.values()) {
			for (const [id, attempt] of sub.claims) {
				channels.push(sub.chan.name);
				groups.push(sub.chan.group);
				ids.push(id);
				attempts.push(attempt);
			}
		}
		if (!ids.length || !this.lease) return;
		await this.client
			.query(
				`update ${this.table("deliveries")} d set available_at = now() + $5 * interval '1 millisecond'
				from unnest($1::text[], $2::text[], $3::bigint[], $4::int[]) as c(channel, grp, id, attempts)
				where d.channel = c.channel and d.grp = c.grp and d.message_id = c.id and d.attempts = c.attempts`,
				[channels, groups, ids, attempts, this.opts.leaseMs],
			)
			.catch(err => this.logger.warn("Could not renew channel leases:", errorMessage(err)));
	}

	// --- maintenance -------------------------------------------------------------------------------

	/**
	 * Deletes messages every group has acknowledged, once older than the retention; returns how many.
	 * Runs on a timer on every node; SKIP LOCKED keeps concurrent collectors out of each other's way.
	 */
	async collectGarbage(): Promise<number> {
		let total = 0;
		for (;;) {
			const result = await this.client.query(
				`delete from ${this.table("messages")} where id in (
					select m.id from ${this.table("messages")} m
					where m.published_at < now() - $1 * interval '1 millisecond'
					and not exists (select 1 from ${this.table("deliveries")} d where d.message_id = m.id)
					order by m.id
					limit 5000
					for update skip locked
				)`,
				[this.opts.retentionMs],
			);
			total += result.rowCount;
			if (result.rowCount < 5000) return total;
		}
	}

	/**
	 * Forgets a consumer group for good (an operator's decision): its undelivered messages are no
	 * longer kept for it. `channel` is the name services use (the namespace prefix is added here).
	 */
	async dropGroup(channel: string, group: string): Promise<number> {
		const name = this.addPrefixTopic(channel);
		return this.client.transaction(async tx => {
			await tx.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [this.channelLockKey(name)]);
			const removed = await tx.query(`delete from ${this.table("deliveries")} where channel = $1 and grp = $2`, [name, group]);
			await tx.query(`delete from ${this.table("groups")} where channel = $1 and grp = $2`, [name, group]);
			return removed.rowCount;
		});
	}
}
