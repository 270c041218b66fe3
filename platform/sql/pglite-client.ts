import fs from "node:fs";
import path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type { QueryResult, SqlClient, SqlExecutor } from "./types";
import { lockFolder } from "./folder-lock";

type PGliteLike = Pick<PGlite, "query" | "exec" | "transaction" | "close">;

function wrapExecutor(db: Pick<PGlite, "query">): SqlExecutor {
	return {
		async query<Row>(text: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
			const result = await db.query<Row>(text, params as unknown[]);
			return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
		},
	};
}

/**
 * Embedded PostgreSQL: one PGlite instance per process, shared by every service (each keeps to its
 * own schema). PGlite has a single connection and queues queries and transactions itself, so a
 * transaction here is exclusive — fine for one process, which is all the embedded mode serves.
 */
export async function openPGlite(dataDir: string | undefined): Promise<SqlClient> {
	// PGlite ships as ESM with a dynamic import() of its WASM; loading it lazily keeps start-up of
	// nodes that use PostgreSQL free of that cost.
	const { PGlite } = await import("@electric-sql/pglite");
	if (dataDir) fs.mkdirSync(path.resolve(dataDir), { recursive: true });
	const unlock = dataDir ? lockFolder(path.resolve(dataDir)) : () => undefined;
	let db: PGliteLike;
	try {
		db = await PGlite.create(dataDir ? path.resolve(dataDir) : undefined);
	} catch (err) {
		unlock();
		throw err;
	}
	const executor = wrapExecutor(db);
	return {
		engine: "pglite",
		query: executor.query,
		transaction: work => db.transaction(tx => work(wrapExecutor(tx))),
		exec: async script => {
			await db.exec(script);
		},
		ping: async () => {
			await db.query("select 1");
		},
		close: async () => {
			try {
				await db.close();
			} finally {
				unlock();
			}
		},
	};
}
