import path from "node:path";
import { openPGlite } from "./pglite-client";
import { openPostgres } from "./postgres-client";
import type { SqlClient } from "./types";

export * from "./types";
export { runMigrations, type Migration } from "./migrations";
export { joinTransaction } from "./joined-transaction";

export interface DatabaseTarget {
	/** postgres:// URL; undefined selects embedded PGlite. */
	url?: string;
	/** PGlite's folder; undefined with no url means an in-memory database (tests). */
	dataDir?: string;
	poolSize?: number;
}

interface SharedDatabase {
	client: Promise<SqlClient>;
	users: number;
}

/**
 * Services in one process share one engine per target: one PGlite (it must be: a data folder can be
 * opened once) or one pg pool per URL. Each service acquires it when it starts and releases it when
 * it stops; the last release closes it.
 */
const shared = new Map<string, SharedDatabase>();

function keyOf(target: DatabaseTarget): string {
	if (target.url) return `pg:${target.url}`;
	return target.dataDir ? `pglite:${path.resolve(target.dataDir)}` : "pglite:memory";
}

export interface DatabaseLease {
	client: SqlClient;
	release(): Promise<void>;
}

export async function acquireDatabase(target: DatabaseTarget): Promise<DatabaseLease> {
	const key = keyOf(target);
	let entry = shared.get(key);
	if (!entry) {
		const client = target.url ? Promise.resolve(openPostgres(target.url, target.poolSize ?? 10)) : openPGlite(target.dataDir);
		entry = { client, users: 0 };
		shared.set(key, entry);
		// A failed open must not poison later attempts (e.g. a database that comes up a bit later).
		client.catch(() => shared.delete(key));
	}
	entry.users++;
	const current = entry;
	let released = false;
	const client = await current.client.catch(err => {
		current.users--;
		throw err;
	});
	return {
		client,
		release: async () => {
			if (released) return;
			released = true;
			current.users--;
			if (current.users === 0 && shared.get(key) === current) {
				shared.delete(key);
				await client.close();
			}
		},
	};
}

/** The embedded database's folder inside DATA_DIR. */
export function embeddedDatabaseDir(dataDir: string): string {
	return path.join(dataDir, "pg");
}
