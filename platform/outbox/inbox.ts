/**
 * What makes a consumer idempotent by message id: the id is recorded in the same transaction as
 * the consumer's effects, so a message delivered twice (a relay that died after sending, a backend
 * redelivering, someone replaying a captured message) is acted on once. Ids are kept a day longer
 * than signed messages are accepted.
 */
import type { SqlClient, SqlExecutor } from "../sql";
import type { MessageWriter, Outbox } from "./outbox";

/** Longer than a signed message is accepted (MAX_MESSAGE_AGE_DAYS), so no accepted replay is forgotten. */
export const INBOX_RETENTION_DAYS = 15;

export class Inbox {
	private readonly table: string;

	constructor(
		private readonly db: SqlClient,
		schema: string,
		private readonly outbox: Outbox,
	) {
		this.table = `"${schema}".inbox`;
	}

	/** True the first time `consumer` sees `messageId` in `tx`; false for a repeat. */
	async firstTime(tx: SqlExecutor, consumer: string, messageId: string): Promise<boolean> {
		const { rowCount } = await tx.query(`insert into ${this.table} (consumer, message_id) values ($1, $2) on conflict do nothing`, [consumer, messageId]);
		return rowCount > 0;
	}

	/**
	 * Runs `work` for a message the first time `consumer` gets it, in one transaction with the
	 * messages it writes; resolves false (and does nothing) for a repeat. Without an id (a message
	 * from outside the outbox) the work runs every time.
	 */
	async once(consumer: string, messageId: string | undefined, work: (messages: MessageWriter, db: SqlClient) => Promise<void>): Promise<boolean> {
		return this.outbox.transaction(async (messages, db) => {
			if (messageId !== undefined && !(await this.firstTime(db, consumer, messageId))) return false;
			await work(messages, db);
			return true;
		});
	}

	async purge(olderThanDays = INBOX_RETENTION_DAYS): Promise<number> {
		const { rowCount } = await this.db.query(`delete from ${this.table} where received_at < now() - make_interval(days => $1)`, [olderThanDays]);
		return rowCount;
	}
}
