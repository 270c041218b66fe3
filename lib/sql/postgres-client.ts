import { Pool, PoolClient, types as pgTypes } from "pg";
import type { QueryResult, SqlClient, SqlExecutor } from "./types";

/** int8 as a JS number, as PGlite returns it: our ids and counts stay far below 2^53. */
const INT8_OID = 20;
const typeParsers = {
	getTypeParser(oid: number, format?: "text" | "binary") {
		if (oid === INT8_OID && format !== "binary") return (value: string) => Number(value);
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
			try {
				await client.query("BEGIN");
				const result = await work(wrapExecutor(client));
				await client.query("COMMIT");
				return result;
			} catch (err) {
				await client.query("ROLLBACK").catch(() => undefined);
				throw err;
			} finally {
				client.release();
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
