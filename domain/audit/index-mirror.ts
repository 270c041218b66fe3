/**
 * Keeps the OpenSearch copy of the audit log complete. The SQL log is the truth and an append never
 * waits for the copy: an entry that fails to index marks the copy as behind from there, and a
 * catch-up (at start, then on a timer) re-indexes from the SQL log, one at a time, until the mark
 * is gone. A failed catch-up leaves the mark for the next one.
 */
import type { AuditEntry } from "../../contracts/audit";
import type { AuditLog } from "./audit-log";
import { catchUpIndex, type AuditSearchIndex } from "./search-index";

export interface MirrorLogger {
	info(message: string): void;
	warn(message: string): void;
}

export class AuditIndexMirror {
	/** Seq after which the copy may miss entries; undefined while it is believed complete. */
	private behindAfter?: number;
	private syncing?: Promise<void>;

	constructor(
		private readonly log: AuditLog,
		private readonly index: AuditSearchIndex & { highestSeq(): Promise<number> },
		private readonly logger: MirrorLogger,
	) {}

	/** At start: the copy is complete up to its own newest entry (nothing, if it does not answer). */
	async start(): Promise<void> {
		const highest = await this.index.highestSeq().catch(err => {
			this.logger.warn(`OpenSearch is not answering; the audit index will be rebuilt from the SQL log when it does: ${(err as Error).message}`);
			return 0;
		});
		this.markBehind(highest);
		await this.catchUp();
	}

	/** A newly appended entry; a failure is remembered, never thrown. */
	indexed(entry: AuditEntry): void {
		this.index.index([entry]).catch(err => {
			this.logger.warn(`Could not index audit entry ${entry.seq} into OpenSearch; it will be caught up from the SQL log: ${(err as Error).message}`);
			this.markBehind(entry.seq - 1);
		});
	}

	/** One catch-up at a time; resolves when the one under way (if any) ends. */
	catchUp(): Promise<void> {
		if (this.behindAfter === undefined || this.syncing) return this.syncing ?? Promise.resolve();
		const from = this.behindAfter;
		this.behindAfter = undefined;
		this.syncing = catchUpIndex(this.log, this.index, from)
			.then(last => {
				if (last > from) this.logger.info(`Caught the OpenSearch audit index up from seq ${from + 1} to ${last}`);
			})
			.catch(err => {
				this.logger.warn(`Catching the OpenSearch audit index up failed; retrying later: ${(err as Error).message}`);
				this.markBehind(from);
			})
			.finally(() => {
				this.syncing = undefined;
			});
		return this.syncing;
	}

	/** Waits for a catch-up under way (stopping). */
	async settled(): Promise<void> {
		await this.syncing;
	}

	private markBehind(afterSeq: number): void {
		this.behindAfter = Math.min(this.behindAfter ?? afterSeq, afterSeq);
	}
}
