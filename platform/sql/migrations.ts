import { createHash } from "node:crypto";
import type { SqlClient, SqlExecutor } from "./types";

export interface Migration {
	/** Increasing integers; a published version is never edited or renumbered. */
	version: number;
	name: string;
	/** SQL run with the service's schema on the search path; may hold several statements. */
	up: string;
}

export class MigrationError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "MigrationError";
	}
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertIdentifier(name: string, what = "identifier"): string {
	if (!IDENTIFIER.test(name)) throw new MigrationError(`Invalid ${what} "${name}": use lower-case letters, digits and _`);
	return name;
}

function checksum(migration: Migration): string {
	return createHash("sha256").update(migration.up).digest("hex");
}

/**
 * Brings `schema` up to the newest migration. Everything happens in one transaction holding a
 * transaction-scoped advisory lock keyed by the schema, so nodes that start together apply each
 * migration once: the others wait, then find nothing left to do. A migration whose text changed after
 * it was applied stops start-up rather than leaving the schema in an unknown state.
 *
 * `track`: migrations numbered on their own, recorded in `<track>_migrations`. The platform's
 * tables every service has (outbox, inbox, idempotency keys) evolve on the "platform" track, so
 * neither they nor a service's own migrations ever have to renumber around the other.
 */
export async function runMigrations(client: SqlClient, schema: string, migrations: readonly Migration[], track = "schema"): Promise<number[]> {
	assertIdentifier(schema, "schema name");
	const ledger = `"${schema}".${assertIdentifier(`${track}_migrations`, "migration track")}`;
	const ordered = [...migrations].sort((a, b) => a.version - b.version);
	ordered.forEach((migration, index) => {
		if (!Number.isInteger(migration.version) || migration.version < 1) throw new MigrationError(`${schema}: migration version ${migration.version} must be a positive integer`);
		if (index > 0 && ordered[index - 1].version === migration.version) throw new MigrationError(`${schema}: migration version ${migration.version} is used twice`);
	});

	return client.transaction(async tx => {
		// Keyed by schema only: the tracks of one schema are applied one after the other, never interleaved.
		await tx.query("select pg_advisory_xact_lock(hashtext($1))", [`lootopia:migrations:${schema}`]);
		await tx.query(`create schema if not exists "${schema}"`);
		await tx.query(
			`create table if not exists ${ledger} (
				version integer primary key,
				name text not null,
				checksum text not null,
				applied_at timestamptz not null default now()
			)`,
		);
		const applied = await tx.query<{ version: number; name: string; checksum: string }>(`select version, name, checksum from ${ledger}`);
		const appliedByVersion = new Map(applied.rows.map(row => [row.version, row]));
		const known = new Set(ordered.map(m => m.version));
		for (const row of applied.rows) {
			if (!known.has(row.version)) throw new MigrationError(`${schema}: the database has migration ${row.version} (${row.name}) that this build does not know; is an older build running?`);
		}

		const newlyApplied: number[] = [];
		for (const migration of ordered) {
			const previous = appliedByVersion.get(migration.version);
			if (previous) {
				if (previous.checksum !== checksum(migration))
					throw new MigrationError(`${schema}: migration ${migration.version} (${migration.name}) was edited after it was applied; add a new migration instead`);
				continue;
			}
			await applyOne(tx, schema, ledger, migration);
			newlyApplied.push(migration.version);
		}
		return newlyApplied;
	});
}

async function applyOne(tx: SqlExecutor, schema: string, ledger: string, migration: Migration): Promise<void> {
	// search_path is local to this transaction, so unqualified names land in the service's schema.
	await tx.query(`set local search_path to "${schema}"`);
	for (const statement of splitStatements(migration.up)) {
		await tx.query(statement);
	}
	await tx.query(`set local search_path to "$user", public`);
	await tx.query(`insert into ${ledger} (version, name, checksum) values ($1, $2, $3)`, [migration.version, migration.name, checksum(migration)]);
}

/** Characters that continue an identifier: a `$` after one is part of the name (a$b$), not a quote. */
const IDENTIFIER_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
/** A dollar-quote opener: `$$` or `$tag$`, where a tag is an identifier without `$` (digits allowed after the first). */
const DOLLAR_QUOTE = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/** Index just past the quote that closes the one opening at `start`; `backslashEscapes` for E'' strings. */
function endOfQuoted(script: string, start: number, backslashEscapes: boolean): number {
	const quote = script[start];
	let j = start + 1;
	while (j < script.length) {
		if (backslashEscapes && script[j] === "\\") j += 2;
		else if (script[j] === quote && script[j + 1] === quote) j += 2;
		else if (script[j] === quote) return j + 1;
		else j++;
	}
	return script.length;
}

/** Index just past a block comment opening at `start`; PostgreSQL block comments nest. */
function endOfBlockComment(script: string, start: number): number {
	let depth = 0;
	let j = start;
	while (j < script.length) {
		if (script.startsWith("/*", j)) {
			depth++;
			j += 2;
		} else if (script.startsWith("*/", j)) {
			depth--;
			j += 2;
			if (depth === 0) return j;
		} else j++;
	}
	return script.length;
}

/**
 * Splits a migration into statements, since prepared queries (which transactions use on both
 * drivers) take one statement each. Keeps semicolons inside quotes, E'' strings, dollar-quoted
 * bodies and quoted identifiers. Comments are dropped (so a lone trailing comment is not sent as an
 * empty statement) and replaced by whitespace, so `a--x\nfrom t` does not become `afrom t`.
 */
export function splitStatements(script: string): string[] {
	const statements: string[] = [];
	let current = "";
	let i = 0;
	while (i < script.length) {
		const ch = script[i];
		const previous = i > 0 ? script[i - 1] : "";
		if (ch === "$" && !IDENTIFIER_CHAR.test(previous)) {
			const opener = DOLLAR_QUOTE.exec(script.slice(i));
			if (opener) {
				const end = script.indexOf(opener[0], i + opener[0].length);
				const stop = end === -1 ? script.length : end + opener[0].length;
				current += script.slice(i, stop);
				i = stop;
				continue;
			}
		}
		if (ch === "'" || ch === '"') {
			// E'…' (not the tail of an identifier such as `some'`) lets a backslash escape the quote.
			const escapeString = ch === "'" && (previous === "E" || previous === "e") && !IDENTIFIER_CHAR.test(i > 1 ? script[i - 2] : "");
			const stop = endOfQuoted(script, i, escapeString);
			current += script.slice(i, stop);
			i = stop;
			continue;
		}
		if (script.startsWith("--", i)) {
			const end = script.indexOf("\n", i);
			current += "\n";
			i = end === -1 ? script.length : end + 1;
			continue;
		}
		if (script.startsWith("/*", i)) {
			current += " ";
			i = endOfBlockComment(script, i);
			continue;
		}
		if (ch === ";") {
			if (current.trim()) statements.push(current.trim());
			current = "";
			i++;
			continue;
		}
		current += ch;
		i++;
	}
	if (current.trim()) statements.push(current.trim());
	return statements;
}
