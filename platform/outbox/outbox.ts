/**
 * The transactional outbox: a service writes the messages about a state change in the same
 * transaction as the change, so both commit or neither does; a relay (relay.ts) sends them after
 * the commit. A crash, a channel backend that is down or a slow one then never loses a message nor
 * fails a change that happened; at worst a message goes out twice, which consumers absorb by its id
 * (inbox.ts). No Moleculer here: the relay is handed a send function.
 */
import type { ContractChannels } from "../../contracts";
import { joinTransaction, type SqlClient, type SqlExecutor } from "../sql";
import { messageId } from "./message-id";

export interface OutboxMessage {
	id: string;
	channel: string;
	payload: unknown;
	partitionKey?: string;
	/** Failed sends so far. */
	attempts: number;
}

export interface AddOptions {
	/** The message id (by default random). Adding an id that is already waiting does nothing. */
	id?: string;
	/** Derives the id from a key instead (see messageId). */
	idempotencyKey?: string;
	/** Kafka message key: messages with one key stay in order within their partition. */
	partitionKey?: string;
}

/** The outbox bound to one open transaction: what flows write their messages to. */
export interface MessageWriter<Channels = ContractChannels> {
	/** Only channels a contract declares, with the payload it declares (contracts/index.ts). */
	add<C extends keyof Channels & string>(channel: C, payload: Channels[C], options?: AddOptions): Promise<string>;
}

export interface OutboxBacklog {
	pending: number;
	oldestAgeSeconds: number;
	failing: number;
	lastError?: string;
}

type OutboxRow = { seq: string | number; id: string; channel: string; payload: string; partition_key: string | null; attempts: number };

/** Channels beyond the contracts' (a test's or a bench's own) take `Outbox<Record<string, unknown>>`. */
export class Outbox<Channels = ContractChannels> {
	private readonly table: string;
	private readonly listeners = new Set<() => void>();

	constructor(
		private readonly db: SqlClient,
		readonly schema: string,
	) {
		this.table = `"${schema}".outbox`;
	}

	/** Writes a message in the transaction `tx`; returns its id. */
	async add(tx: SqlExecutor, channel: string, payload: unknown, options: AddOptions = {}): Promise<string> {
		const id = options.id ?? messageId(options.idempotencyKey);
		const json = JSON.stringify(payload ?? null);
		await tx.query(`insert into ${this.table} (id, channel, payload, partition_key) values ($1, $2, $3, $4) on conflict (id) do nothing`, [id, channel, json, options.partitionKey ?? null]);
		return id;
	}

	writer(tx: SqlExecutor): MessageWriter<Channels> {
		return { add: (channel, payload, options) => this.add(tx, channel, payload, options) };
	}

	/**
	 * Runs `work` in one transaction with a writer for its messages and a client joined to the same
	 * transaction (for stores: `new SomeStore(db, schema)`); tells the relay once it committed.
	 */
	async transaction<T>(work: (messages: MessageWriter<Channels>, db: SqlClient) => Promise<T>): Promise<T> {
		let wrote = false;
		const result = await this.db.transaction(tx => {
			const writer: MessageWriter<Channels> = {
				add: (channel, payload, options) => {
					wrote = true;
					return this.add(tx, channel, payload, options);
				},
			};
			return work(writer, joinTransaction(tx, this.db.engine));
		});
		if (wrote) this.committed();
		return result;
	}

	/** For writes made in a transaction this class did not open: call after its commit. */
	committed(): void {
		for (const listener of this.listeners) listener();
	}

	onCommitted(listener: () => void): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	/**
	 * Takes up to `limit` due messages, oldest first, for `leaseMs` on behalf of relay `claimant`: no
	 * other relay gets them until then, and if this one dies they fall due again when the lease ends.
	 * Outcomes (delivered, failed, release) count only while the claim is still the claimant's.
	 */
	async claim(claimant: string, limit: number, leaseMs: number): Promise<OutboxMessage[]> {
		const { rows } = await this.db.query<OutboxRow>(
			`update ${this.table} set available_at = now() + make_interval(secs => $3), claimed_by = $1
			  where seq in (select seq from ${this.table} where available_at <= now() order by seq limit $2 for update skip locked)
			  returning seq, id, channel, payload, partition_key, attempts`,
			[claimant, limit, leaseMs / 1000],
		);
		return rows
			.sort((a, b) => Number(a.seq) - Number(b.seq))
			.map(row => ({ id: row.id, channel: row.channel, payload: JSON.parse(row.payload), ...(row.partition_key !== null ? { partitionKey: row.partition_key } : {}), attempts: row.attempts }));
	}

	/** Sent: gone from the outbox. A relay whose claim was taken over leaves the row to the new holder. */
	async delivered(claimant: string, id: string): Promise<void> {
		await this.db.query(`delete from ${this.table} where id = $1 and claimed_by = $2`, [id, claimant]);
	}

	/** A send failed: unclaimed, due again after `delayMs`, with the failure kept for operators. */
	async failed(claimant: string, id: string, delayMs: number, error: string): Promise<void> {
		await this.db.query(`update ${this.table} set available_at = now() + make_interval(secs => $3), attempts = attempts + 1, last_error = $4, claimed_by = null where id = $1 and claimed_by = $2`, [
			id,
			claimant,
			delayMs / 1000,
			error.slice(0, 1000),
		]);
	}

	/** Gives claimed messages back, due after `delayMs` (a relay that stops sending early). */
	async release(claimant: string, ids: readonly string[], delayMs = 0): Promise<void> {
		for (const id of ids)
			await this.db.query(`update ${this.table} set available_at = now() + make_interval(secs => $3), claimed_by = null where id = $1 and claimed_by = $2`, [id, claimant, delayMs / 1000]);
	}

	/** What is waiting: how many messages, how long the oldest has been, how many failed, and the latest failure. */
	async backlog(): Promise<OutboxBacklog> {
		const { rows } = await this.db.query<{ pending: number; oldest: number | null; failing: number; last_error: string | null }>(
			`select count(*)::int as pending, extract(epoch from now() - min(created_at))::float8 as oldest, count(*) filter (where attempts > 0)::int as failing,
			        (select last_error from ${this.table} where last_error is not null order by seq desc limit 1) as last_error
			   from ${this.table}`,
		);
		const row = rows[0];
		return { pending: row.pending, oldestAgeSeconds: Math.max(0, Math.round(row.oldest ?? 0)), failing: row.failing, ...(row.last_error ? { lastError: row.last_error } : {}) };
	}

	/**
	 * Makes the messages that failed and wait out a backoff due now (the backend is back, or an
	 * operator fixed it); returns how many. Messages a relay holds right now are left to it.
	 */
	async retryFailedNow(): Promise<number> {
		const { rowCount } = await this.db.query(`update ${this.table} set available_at = now() where last_error is not null and claimed_by is null and available_at > now()`);
		return rowCount;
	}
}
