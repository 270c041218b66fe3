import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { openPGlite } from "../../platform/sql/pglite-client";
import { openPostgres } from "../../platform/sql/postgres-client";
import { runMigrations, type Migration, type SqlClient } from "../../platform/sql";
import { PLATFORM_MIGRATION_TRACK, PLATFORM_MIGRATIONS } from "../../platform/outbox/tables";
import { describeWithBackend } from "./backends";

/**
 * Opening a fresh PGlite costs several seconds (initdb); reopening an initialised folder about half
 * a second. The global setup initialises one template folder; each test file opens its own copy.
 */
export const PGLITE_TEMPLATE_DIR = path.join(os.tmpdir(), "lootopia-test-pglite-template");

export async function openTestPGlite(): Promise<{ client: SqlClient; dataDir: string; dispose(): Promise<void> }> {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lootopia-pglite-"));
	fs.cpSync(PGLITE_TEMPLATE_DIR, dataDir, { recursive: true });
	const client = await openPGlite(dataDir);
	return {
		client,
		dataDir,
		dispose: async () => {
			await client.close();
			fs.rmSync(dataDir, { recursive: true, force: true });
		},
	};
}

export function openTestPostgres(url: string): SqlClient {
	return openPostgres(url, 5);
}

/** A schema name no other test run uses, so suites can share the machine's test database. */
export function uniqueSchema(prefix: string): string {
	return `${prefix}_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
}

export async function dropSchemas(client: SqlClient, schemas: string[]): Promise<void> {
	for (const schema of schemas) await client.query(`drop schema if exists "${schema}" cascade`);
}

export interface TestDatabase {
	client: SqlClient;
	dispose(): Promise<void>;
}

/** Defines `suite` for embedded PGlite and, when the machine has one, for PostgreSQL. */
export function onEverySqlEngine(suite: (engine: string, open: () => Promise<TestDatabase>) => void): void {
	suite("PGlite", openTestPGlite);
	describeWithBackend("postgres", "PostgreSQL", pg => {
		suite("PostgreSQL", async () => {
			const client = openTestPostgres(pg.url);
			return { client, dispose: () => client.close() };
		});
	});
}

/**
 * Inside a describe block: a database from `open` with a fresh schema migrated for the block, both
 * gone afterwards. Read `client` and `schema` from the returned object inside tests and hooks.
 */
export function useMigratedSchema(open: () => Promise<TestDatabase>, prefix: string, migrations: readonly Migration[]): { client: SqlClient; schema: string } {
	const state = { client: undefined as unknown as SqlClient, schema: uniqueSchema(prefix) };
	let database: TestDatabase | undefined;
	beforeAll(async () => {
		database = await open();
		state.client = database.client;
		// As a service's database gets it: the platform's tables first, then the service's own.
		await runMigrations(state.client, state.schema, PLATFORM_MIGRATIONS, PLATFORM_MIGRATION_TRACK);
		await runMigrations(state.client, state.schema, migrations);
	});
	afterAll(async () => {
		if (!database) return;
		await dropSchemas(database.client, [state.schema]);
		await database.dispose();
	});
	return state;
}

/** A PostgreSQL database of its own for a whole node (the services' schemas have fixed names). */
export async function scratchDatabase(serverUrl: string, prefix = "lootopia_it"): Promise<{ name: string; url: string; drop(): Promise<void> }> {
	const name = `${prefix}_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
	const admin = openTestPostgres(serverUrl);
	await admin.query(`create database "${name}"`);
	const url = new URL(serverUrl);
	url.pathname = `/${name}`;
	return {
		name,
		url: url.toString(),
		drop: async () => {
			await admin.query(`drop database if exists "${name}" with (force)`);
			await admin.close();
		},
	};
}
