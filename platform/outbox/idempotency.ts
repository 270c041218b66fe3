/**
 * Idempotency-Key for create operations: the first request with a key runs and its response is
 * stored in the same transaction as the change it made; a retry with the same key (a client that
 * lost the answer) gets that response back instead of creating a second thing. Reusing a key for a
 * different request is refused. Keys are scoped by operation and caller, kept a day.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../channels/message-signing";
import { AppError } from "../errors/app-error";
import type { SqlClient, SqlExecutor } from "../sql";

export const IDEMPOTENCY_KEY_RETENTION_HOURS = 24;

/** What a replay answers: the first response as the client saw it. */
export interface StoredResponse<Body = unknown> {
	status: number;
	location?: string;
	body: Body;
}

export function requestFingerprint(request: unknown): string {
	return createHash("sha256").update(canonicalJson(request)).digest("base64url");
}

export class IdempotencyKeys {
	private readonly table: string;

	constructor(
		private readonly db: SqlClient,
		schema: string,
	) {
		this.table = `"${schema}".idempotency_keys`;
	}

	/**
	 * In the transaction `tx`: the stored response if this key was used for the same request,
	 * otherwise `work`'s, stored. The key's row is locked for the rest of the transaction, so a
	 * concurrent request with the same key waits until this one ends, then sees the stored response
	 * (or, if this one rolled back, runs itself).
	 */
	async run<Body>(tx: SqlExecutor, scope: string, key: string, request: unknown, work: () => Promise<StoredResponse<Body>>): Promise<StoredResponse<Body> & { replayed: boolean }> {
		const fingerprint = requestFingerprint(request);
		const stored = await this.takeKey<Body>(tx, scope, key, fingerprint);
		if (stored) return { ...stored, replayed: true };
		const response = await work();
		await tx.query(`update ${this.table} set response = $3 where scope = $1 and key = $2`, [scope, key, JSON.stringify(response)]);
		return { ...response, replayed: false };
	}

	/** Holds the key for this request (locked until `tx` ends); gives the stored response of an earlier identical one instead. */
	private async takeKey<Body>(tx: SqlExecutor, scope: string, key: string, fingerprint: string): Promise<StoredResponse<Body> | undefined> {
		// Twice at most: a purge may delete the row between the insert that met it and the lock.
		for (let attempt = 0; attempt < 2; attempt++) {
			const inserted = await tx.query(`insert into ${this.table} (scope, key, fingerprint) values ($1, $2, $3) on conflict do nothing`, [scope, key, fingerprint]);
			if (inserted.rowCount > 0) return undefined;
			const { rows } = await tx.query<{ fingerprint: string; response: string | null; expired: boolean }>(
				`select fingerprint, response, created_at < now() - make_interval(hours => $3) as expired from ${this.table} where scope = $1 and key = $2 for update`,
				[scope, key, IDEMPOTENCY_KEY_RETENTION_HOURS],
			);
			const row = rows[0];
			if (!row) continue;
			if (!row.expired && row.response !== null) {
				if (row.fingerprint !== fingerprint) throw new AppError("IDEMPOTENCY_KEY_REUSED");
				return JSON.parse(row.response) as StoredResponse<Body>;
			}
			// Expired but not purged yet: this request takes the key over (under the lock, so only one does).
			await tx.query(`update ${this.table} set fingerprint = $3, response = null, created_at = now() where scope = $1 and key = $2`, [scope, key, fingerprint]);
			return undefined;
		}
		throw new Error(`Idempotency key ${scope}/${key} kept vanishing`);
	}

	async purge(olderThanHours = IDEMPOTENCY_KEY_RETENTION_HOURS): Promise<number> {
		const { rowCount } = await this.db.query(`delete from ${this.table} where created_at < now() - make_interval(hours => $1)`, [olderThanHours]);
		return rowCount;
	}
}
