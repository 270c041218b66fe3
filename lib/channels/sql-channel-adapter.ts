/**
 * A durable @moleculer/channels adapter on the service database: embedded PGlite by default, or
 * PostgreSQL (where it also works across nodes). What a publisher was told was accepted is in the
 * database before the promise resolves, so it survives a crash or restart, and a burst only queues
 * in the database, never in a bounded in-memory buffer.
 *
 * Delivery is at-least-once with consumer groups, like the Redis and NATS adapters:
 * - publish fans the message out into one delivery row per known group of its channel; a group
 *   seen for the first time is remembered and gets every retained message of the channel (so
 *   nothing published while its consumers were down, or before they first started, is missed);
 *   an advisory lock per channel (shared by publishers, exclusive for registering a group) keeps a
 *   message from slipping between the two;
 * - consumers claim ready deliveries with FOR UPDATE SKIP LOCKED and a lease, renewed while the
 *   handler runs: a consumer that dies mid-message leaves a claim that becomes visible again when
 *   the lease runs out, a slow one keeps it;
 * - success deletes the delivery; failure retries later with exponential backoff; after
 *   maxRetries the message goes to the dead-letter channel (or is dropped, logged, when that is off).
 */
import { EventEmitter } from "node:events";
import { acquireDatabase, DatabaseLease, DatabaseTarget, Migration, runMigrations, SqlClient, SqlExecutor } from "../sql";
import { assertIdentifier } from "../sql/migrations";
import { BaseAdapter, CHANNEL_METRICS } from "./moleculer-channels";

export interface SqlChannelAdapterOptions {
	database: DatabaseTarget;
	/** Schema holding the log; one per deployment, shared by every node using the database. */
	schema?: string;
	/** How often consumers look for messages published by other processes or due for retry. */
	pollIntervalMs?: number;
	/** How long a claimed message stays invisible to other consumers before it is redelivered. */
	leaseMs?: number;
	/** First retry delay; doubles with every attempt up to maxBackoffMs. */
	retryBackoffMs?: number;
	maxBackoffMs?: number;
	/** Fully consumed messages older than this are deleted; also how far back a new group starts. */
	retentionMs?: number;
	/** Publishes sent together are written in one statement, at most this many. */
	maxBatchSize?: number;
	maxInFlight?: number;
	maxRetries?: number;
	deadLettering?: { enabled?: boolean; queueName?: string };
	serializer?: string;
	prefix?: string;
}

interface Channel {
	id: string;
	name: string;
	group: string;
	maxInFlight: number;
	maxRetries: number;
	deadLettering: { enabled: boolean; queueName: string };
	handler(payload: unknown, raw: SqlChannelMessage): Promise<unknown>;
}

export interface SqlChannelMessage {
	id: number;
	channel: string;
	group: string;
	/** 1 on the first delivery. */
	attempts: number;
	headers: Record<string, string> | null;
}

interface PendingPublish {
	channel: string;
	payload: Uint8Array;
	headers: Record<string, unknown> | null;
	resolve(): void;
	reject(err: unknown): void;
}

interface ClaimedRow {
	message_id: number;
	attempts: number;
	payload: Uint8Array;
	headers: Record<string, string> | null;
}

const MIGRATIONS: Migration[] = [
	{
		version: 1,
		name: "channel log",
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
			create index messages_channel_published_idx on messages (channel, published_at);
			create table deliveries (
				channel text not null,
				grp text not null,
				message_id bigint not null references messages (id) on delete cascade,
				attempts integer not null default 0,
				available_at timestamptz not null default now(),
				last_error text,
				primary key (channel, grp, message_id)
			);
			create index deliveries_ready_idx on deliveries (channel, grp, available_at);
			create index deliveries_message_idx on deliveries (message_id);
		`,
	},
];

class Subscription {
	inFlight = 0;
	stopped = false;
	private polling = false;
	private again = false;
	private idle?: () => void;

	constructor(
		readonly chan: Channel,
		private readonly claim: (chan: Channel, limit: number) => Promise<ClaimedRow[]>,
		private readonly process: (chan: Channel, row: ClaimedRow) => Promise<void>,
		private readonly onError: (err: unknown) => void,
	) {}

	/** Claims as many messages as there is room for; safe to call any number of times. */
	poll(): void {
		if (this.stopped) return;
		if (this.polling) {
			this.again = true;
			return;
		}
		this.polling = true;
		void this.fill()
			.catch(this.onError)
			.finally(() => {
				this.polling = false;
				if (this.again) {
					this.again = false;
					this.poll();
				}
			});
	}

	private async fill(): Promise<void> {
		while (!this.stopped && this.inFlight < this.chan.maxInFlight) {
			const rows = await this.claim(this.chan, this.chan.maxInFlight - this.inFlight);
			if (!rows.length) return;
			for (const row of rows) {
				this.inFlight++;
				void this.process(this.chan, row).finally(() => {
					this.inFlight--;
					if (this.inFlight === 0) this.idle?.();
					this.poll();
				});
			}
		}
	}

	/** Stops claiming and resolves once the messages being handled are done. */
	stop(): Promise<void> {
		this.stopped = true;
		if (this.inFlight === 0) return Promise.resolve();
		return new Promise(resolve => (this.idle = resolve));
	}
}

export class SqlChannelAdapter extends BaseAdapter {
	declare opts: InstanceType<typeof BaseAdapter>["opts"] & Required<Omit<SqlChannelAdapterOptions, "deadLettering" | "serializer" | "prefix" | "maxInFlight" | "maxRetries">>;
	private lease?: DatabaseLease;
	private db?: SqlClient;
	private readonly subscriptions = new Map<string, Subscription>();
	/** Same-process publishes wake consumers at once instead of at the next poll. */
	private readonly published = new EventEmitter();
	private pending: PendingPublish[] = [];
	private flushing = false;
	private pollTimer?: NodeJS.Timeout;
	private gcTimer?: NodeJS.Timeout;
	/** Lease renewals of the messages being handled. */
	private readonly renewals = new Set<NodeJS.Timeout>();

	constructor(options: SqlChannelAdapterOptions) {
		super(Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)));
		const defaults = {
			schema: "channels",
			pollIntervalMs: 250,
			leaseMs: 60_000,
			retryBackoffMs: 1000,
			maxBackoffMs: 60_000,
			retentionMs: 24 * 60 * 60 * 1000,
			maxBatchSize: 500,
		};
		this.opts = { ...defaults, ...this.opts } as never;
		assertIdentifier(this.opts.schema, "channels schema");
		this.published.setMaxListeners(0);
	}

	private get schema(): string {
		return `"${this.opts.schema}"`;
	}

	async connect(): Promise<void> {
		this.lease = await acquireDatabase(this.opts.database);
		this.db = this.lease.client;
		await runMigrations(this.db, this.opts.schema, MIGRATIONS);
		this.pollTimer = setInterval(() => this.subscriptions.forEach(sub => sub.poll()), this.opts.pollIntervalMs);
		this.pollTimer.unref();
		this.gcTimer = setInterval(() => void this.collectGarbage().catch(err => this.logger.warn("Channel log clean-up failed", err)), Math.min(this.opts.retentionMs, 60_000));
		this.gcTimer.unref();
		this.connected = true;
	}

	async disconnect(): Promise<void> {
		clearInterval(this.pollTimer);
		clearInterval(this.gcTimer);
		await Promise.all([...this.subscriptions.values()].map(sub => sub.stop()));
		this.subscriptions.clear();
		await this.drainPublishes();
		this.connected = false;
		await this.lease?.release();
		this.lease = undefined;
		this.db = undefined;
	}

	async subscribe(chan: Channel): Promise<void> {
		chan.maxInFlight ??= this.opts.maxInFlight;
		chan.maxRetries ??= this.opts.maxRetries;
		chan.deadLettering = { ...this.opts.deadLettering, ...chan.deadLettering };
		if (chan.deadLettering.enabled) chan.deadLettering.queueName = this.addPrefixTopic(chan.deadLettering.queueName);

		await this.registerGroup(chan.name, chan.group);
		this.initChannelActiveMessages(chan.id);
		const subscription = new Subscription(
			chan,
			(c, limit) => this.claim(c, limit),
			(c, row) => this.processMessage(c, row),
			err => this.logger.error(`Polling '${chan.name}' for '${chan.group}' failed`, err),
		);
		this.subscriptions.set(chan.id, subscription);
		this.published.on(chan.name, () => subscription.poll());
		subscription.poll();
	}

	async unsubscribe(chan: Channel): Promise<void> {
		const subscription = this.subscriptions.get(chan.id);
		if (!subscription) return;
		this.subscriptions.delete(chan.id);
		this.published.removeAllListeners(chan.name);
		for (const other of this.subscriptions.values()) {
			if (other.chan.name === chan.name) this.published.on(chan.name, () => other.poll());
		}
		await subscription.stop();
		this.stopChannelActiveMessages(chan.id);
	}

	/** Resolves once the message is stored; rejects (and nothing is stored) otherwise. */
	publish(channelName: string, payload: unknown, opts: { headers?: Record<string, unknown>; raw?: boolean } = {}): Promise<void> {
		if (!this.connected || !this.db) return Promise.reject(new Error("Channel adapter is not connected"));
		const bytes = opts.raw ? (payload as Uint8Array) : (this.serializer.serialize(payload) as Uint8Array);
		return new Promise((resolve, reject) => {
			this.pending.push({ channel: channelName, payload: bytes, headers: opts.headers ?? null, resolve, reject });
			if (this.pending.length === 1 && !this.flushing) setImmediate(() => void this.flush());
		});
	}

	/** Group commit: every publish waiting is written in one transaction, one statement per batch. */
	private async flush(): Promise<void> {
		if (this.flushing) return;
		this.flushing = true;
		try {
			while (this.pending.length) {
				const batch = this.pending.splice(0, this.opts.maxBatchSize);
				try {
					await this.db!.transaction(tx => this.insertMessages(tx, batch));
					batch.forEach(item => item.resolve());
					for (const channel of new Set(batch.map(item => item.channel))) this.published.emit(channel);
				} catch (err) {
					batch.forEach(item => item.reject(err));
				}
			}
		} finally {
			this.flushing = false;
		}
	}

	private async drainPublishes(): Promise<void> {
		while (this.pending.length || this.flushing) {
			if (!this.flushing) await this.flush();
			else await new Promise(resolve => setTimeout(resolve, 5));
		}
	}

	private async insertMessages(tx: SqlExecutor, batch: Array<Pick<PendingPublish, "channel" | "payload" | "headers">>): Promise<void> {
		const channels = [...new Set(batch.map(item => item.channel))].sort();
		for (const channel of channels) await tx.query("select pg_advisory_xact_lock_shared(hashtext($1))", [channel]);
		const params: unknown[] = [];
		const rows = batch.map(item => {
			params.push(item.channel, item.payload, item.headers === null ? null : JSON.stringify(item.headers));
			const n = params.length;
			return `($${n - 2}, $${n - 1}, $${n}::jsonb)`;
		});
		await tx.query(
			`with m as (insert into ${this.schema}.messages (channel, payload, headers) values ${rows.join(", ")} returning id, channel)
			 insert into ${this.schema}.deliveries (channel, grp, message_id)
			 select m.channel, g.grp, m.id from m join ${this.schema}.groups g on g.channel = m.channel`,
			params,
		);
	}

	private async registerGroup(channel: string, group: string): Promise<void> {
		await this.db!.transaction(async tx => {
			await tx.query("select pg_advisory_xact_lock(hashtext($1))", [channel]);
			const created = await tx.query(`insert into ${this.schema}.groups (channel, grp) values ($1, $2) on conflict do nothing returning grp`, [channel, group]);
			if (!created.rows.length) return;
			const backfilled = await tx.query(
				`insert into ${this.schema}.deliveries (channel, grp, message_id)
				 select channel, $2, id from ${this.schema}.messages
				 where channel = $1 and published_at > now() - ($3::bigint * interval '1 millisecond')`,
				[channel, group, this.opts.retentionMs],
			);
			if (backfilled.rowCount) this.logger.info(`New group '${group}' of '${channel}' starts with ${backfilled.rowCount} retained message(s)`);
		});
	}

	private async claim(chan: Channel, limit: number): Promise<ClaimedRow[]> {
		if (!this.db) return [];
		const result = await this.db.query<ClaimedRow>(
			`with ready as (
				select channel, grp, message_id from ${this.schema}.deliveries
				where channel = $1 and grp = $2 and available_at <= now()
				order by message_id
				limit $3
				for update skip locked
			)
			update ${this.schema}.deliveries d
			set attempts = d.attempts + 1, available_at = now() + ($4::bigint * interval '1 millisecond')
			from ready, ${this.schema}.messages m
			where d.channel = ready.channel and d.grp = ready.grp and d.message_id = ready.message_id and m.id = d.message_id
			returning d.message_id, d.attempts, m.payload, m.headers`,
			[chan.name, chan.group, limit, this.opts.leaseMs],
		);
		return result.rows.sort((a, b) => a.message_id - b.message_id);
	}

	private async processMessage(chan: Channel, row: ClaimedRow): Promise<void> {
		const raw: SqlChannelMessage = { id: row.message_id, channel: chan.name, group: chan.group, attempts: row.attempts, headers: row.headers };
		this.addChannelActiveMessages(chan.id, [row.message_id]);
		// A slow handler keeps its claim: only a consumer that stopped renewing loses it.
		const renewal = setInterval(() => {
			void this.db
				?.query(`update ${this.schema}.deliveries set available_at = now() + ($4::bigint * interval '1 millisecond') where channel = $1 and grp = $2 and message_id = $3`, [chan.name, chan.group, row.message_id, this.opts.leaseMs])
				.catch(err => this.logger.warn(`Could not extend the lease of message ${row.message_id}`, err));
		}, Math.max(10, Math.floor(this.opts.leaseMs / 3)));
		renewal.unref();
		this.renewals.add(renewal);
		try {
			let payload: unknown;
			try {
				payload = this.serializer.deserialize(Buffer.from(row.payload));
			} catch (err) {
				// Retrying cannot fix an unreadable message: straight to dead-lettering.
				await this.fail(chan, row, err, true);
				return;
			}
			try {
				await chan.handler(payload, raw);
			} catch (err) {
				this.metricsIncrement(CHANNEL_METRICS.errors, chan);
				await this.fail(chan, row, err, false);
				return;
			}
			await this.db?.query(`delete from ${this.schema}.deliveries where channel = $1 and grp = $2 and message_id = $3`, [chan.name, chan.group, row.message_id]);
		} catch (err) {
			// The database refused the ack or the retry: the lease will expire and the message comes back.
			this.logger.error(`Could not settle message ${row.message_id} of '${chan.name}'`, err);
		} finally {
			clearInterval(renewal);
			this.renewals.delete(renewal);
			this.removeChannelActiveMessages(chan.id, [row.message_id]);
		}
	}

	private async fail(chan: Channel, row: ClaimedRow, err: unknown, unrecoverable: boolean): Promise<void> {
		const reason = err instanceof Error ? err.message : String(err);
		const key = [chan.name, chan.group, row.message_id];
		if (!unrecoverable && row.attempts <= chan.maxRetries) {
			const delay = Math.min(this.opts.retryBackoffMs * 2 ** (row.attempts - 1), this.opts.maxBackoffMs);
			this.metricsIncrement(CHANNEL_METRICS.retries, chan);
			await this.db!.query(
				`update ${this.schema}.deliveries set available_at = now() + ($4::bigint * interval '1 millisecond'), last_error = $5
				 where channel = $1 and grp = $2 and message_id = $3`,
				[...key, delay, reason.slice(0, 1000)],
			);
			return;
		}
		await this.db!.transaction(async tx => {
			if (chan.deadLettering.enabled) {
				const headers = {
					...(row.headers ?? {}),
					"x-original-channel": chan.name,
					"x-original-group": chan.group,
					"x-original-id": String(row.message_id),
					"x-error-message": reason.slice(0, 1000),
					"x-attempts": String(row.attempts),
				};
				await this.insertMessages(tx, [{ channel: chan.deadLettering.queueName, payload: row.payload, headers }]);
			}
			await tx.query(`delete from ${this.schema}.deliveries where channel = $1 and grp = $2 and message_id = $3`, key);
		});
		if (chan.deadLettering.enabled) {
			this.metricsIncrement(CHANNEL_METRICS.deadLettered, chan);
			this.published.emit(chan.deadLettering.queueName);
			this.logger.warn(`Message ${row.message_id} of '${chan.name}' moved to '${chan.deadLettering.queueName}' after ${row.attempts} attempt(s): ${reason}`);
		} else {
			this.logger.error(`Message ${row.message_id} of '${chan.name}' dropped after ${row.attempts} attempt(s) (dead-lettering is off): ${reason}`);
		}
	}

	/** Deletes fully consumed messages past retention; returns how many. */
	async collectGarbage(): Promise<number> {
		if (!this.db) return 0;
		const result = await this.db.query(
			`delete from ${this.schema}.messages m
			 where m.published_at < now() - ($1::bigint * interval '1 millisecond')
			 and not exists (select 1 from ${this.schema}.deliveries d where d.message_id = m.id)`,
			[this.opts.retentionMs],
		);
		return result.rowCount;
	}

	/** Messages waiting (or being retried) per group: the REPL and tests read it. */
	async backlog(channel: string): Promise<Record<string, number>> {
		const result = await this.db!.query<{ grp: string; waiting: number }>(`select grp, count(*)::int as waiting from ${this.schema}.deliveries where channel = $1 group by grp`, [channel]);
		return Object.fromEntries(result.rows.map(row => [row.grp, row.waiting]));
	}
}
