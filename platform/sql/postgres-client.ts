import { Pool, PoolClient, types as pgTypes } from "pg";
import type { QueryResult, SqlClient, SqlExecutor } from "./types";

/**
 * int8 as a JS number, as PGlite returns it: our ids and counts stay far below 2^53. Beyond that a
 * number would silently lose digits, so such a value comes back as a bigint, again as on PGlite.
 */
const INT8_OID = 20;
function parseInt8(value: string): number | bigint {
	const asNumber = Number(value);
	return Number.isSafeInteger(asNumber) ? asNumber : BigInt(value);
}
const typeParsers = {
	getTypeParser(oid: number, format?: "text" | "binary") {
		if (oid === INT8_OID && format !== "binary") return parseInt8;
		return pgTypes.getTypeParser(oid, format as "text");
	},
};

function wrapExecutor(target: Pool | PoolClient): SqlExecutor {
	return {
		async query<Row>(text: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
			const result = await target.query(text, params as unknown[]);
			return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
		},
	};
}

export function openPostgres(url: string, poolSize: number): SqlClient {
	const pool = new Pool({ connectionString: url, max: poolSize, types: typeParsers as never });
	// An idle client losing its connection must not crash the process; the pool replaces it.
	pool.on("error", () => undefined);
	const executor = wrapExecutor(pool);
	return {
		engine: "postgres",
		query: executor.query,
		async transaction(work) {
			const client = await pool.connect();
			// A connection whose ROLLBACK failed may still be inside the aborted transaction: handing
			// it back would fail the next borrower's queries, so it is destroyed instead.
			let unusable: Error | undefined;
			// pg-pool listens for errors on idle clients only: a connection lost while checked out
			// emits `error` with no listener, which would crash the process. The failing query
			// rejects anyway; here the client is just marked for destruction.
			const onConnectionError = (err: Error) => {
				unusable = err;
			};
			client.on("error", onConnectionError);
			try {
				await client.query("BEGIN");
				const result = await work(wrapExecutor(client));
				await client.query("COMMIT");
				return result;
			} catch (err) {
				await client.query("ROLLBACK").catch((rollbackError: Error) => {
					unusable = rollbackError;
				});
				throw err;
			} finally {
				client.off("error", onConnectionError);
				client.release(unusable);
			}
		},
		exec: async script => {
			await pool.query(script);
		},
		ping: async () => {
			await pool.query("select 1");
		},
		close: () => pool.end(),
	};
}
