/**
 * The behaviour every SqlClient must show, as jest tests. sql.spec.ts runs it against embedded PGlite
 * and against PostgreSQL through `pg`, so a service tested on one behaves the same on the other.
 * Expected values are written out here, never computed with the code under test. Every test works
 * in its own schema (unique per run, dropped at the end), so runs can share one test database.
 */
import { MigrationError, runMigrations, type Migration } from "./migrations";
import { isSqlError, SQLSTATE, type SqlClient, type SqlExecutor } from "./types";
import { rejectionOf } from "../../test/support/async";

export interface SqlContractTarget {
	/** The client under test; the contract does not close it. */
	client: SqlClient;
	/**
	 * Opens an independent client (its own pool) on the same database, for tests where separate
	 * processes race. Absent for PGlite: one process owns an embedded database.
	 */
	openSeparateClient?: () => SqlClient;
}

export interface SqlContractOptions {
	/** Called in beforeAll; the spec closes what it opened in its own afterAll. */
	setup: () => SqlContractTarget;
	/** A schema name no other run uses. */
	newSchemaName: () => string;
	/** Whether setup gives `openSeparateClient`: known up front, so the race test is listed as skipped otherwise. */
	separateClients: boolean;
}

/** bytea comes back as Buffer from pg and Uint8Array from PGlite: both are Uint8Array, compare bytes. */
function bytesOf(value: unknown): number[] {
	if (!(value instanceof Uint8Array)) throw new Error(`expected bytes, got ${Object.prototype.toString.call(value)}`);
	return Array.from(value);
}

async function tableNames(db: SqlExecutor, schema: string): Promise<string[]> {
	const { rows } = await db.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = $1 order by table_name", [schema]);
	return rows.map(row => row.table_name);
}

async function schemaExists(db: SqlExecutor, schema: string): Promise<boolean> {
	const { rows } = await db.query("select 1 from information_schema.schemata where schema_name = $1", [schema]);
	return rows.length === 1;
}

async function appliedVersions(db: SqlExecutor, schema: string): Promise<number[]> {
	const { rows } = await db.query<{ version: number }>(`select version from "${schema}".schema_migrations order by version`);
	return rows.map(row => row.version);
}

export function sqlClientContract(name: string, { setup, newSchemaName, separateClients }: SqlContractOptions): void {
	// PGlite: one process owns an embedded database, so there is no second pool to race with.
	const itWithSeparateClients = separateClients ? it : (title: string, fn: () => Promise<void>) => it.skip(`${title} [skipped: one process owns an embedded database, so there is no second pool]`, fn);

	describe(`SqlClient contract: ${name}`, () => {
		let target: SqlContractTarget;
		let db: SqlClient;
		const schemasToDrop: string[] = [];

		/** A schema only this test uses; the suite drops it at the end. */
		function freshSchema(): string {
			const schema = newSchemaName();
			schemasToDrop.push(schema);
			return schema;
		}

		beforeAll(() => {
			target = setup();
			db = target.client;
		});

		afterAll(async () => {
			for (const schema of schemasToDrop) await db.query(`drop schema if exists "${schema}" cascade`);
		});

		it("answers ping and reports its engine", async () => {
			await expect(db.ping()).resolves.toBeUndefined();
			expect(["pglite", "postgres"]).toContain(db.engine);
		});

		describe("types", () => {
			let schema: string;

			beforeAll(async () => {
				schema = freshSchema();
				await db.exec(`
					create schema "${schema}";
					create table "${schema}".typed (
						id serial primary key,
						big int8,
						amount numeric(12, 2),
						at timestamptz,
						doc jsonb,
						raw bytea,
						labels text[],
						flag boolean,
						ratio double precision
					);
				`);
			});

			it("returns int8 as number, numeric as string, timestamptz as Date, jsonb parsed, bytea as bytes, text[] as array", async () => {
				const at = new Date("2026-03-01T12:34:56.789Z");
				await db.query(`insert into "${schema}".typed (big, amount, at, doc, raw, labels, flag, ratio) values ($1, $2, $3, $4, $5, $6, $7, $8)`, [
					12345678901,
					"1234.50",
					at,
					{ clue: "oak", nested: { points: 3 }, list: [1, "two"] },
					Buffer.from([0, 1, 254, 255]),
					["north", "a,b", 'with "quotes"', "back\\slash", "{braces}"],
					true,
					0.25,
				]);
				const { rows } = await db.query(`select big, amount, at, doc, raw, labels, flag, ratio, id from "${schema}".typed`);
				expect(rows).toHaveLength(1);
				const row = rows[0];
				expect(row.big).toBe(12345678901);
				expect(row.amount).toBe("1234.50");
				expect(row.at).toBeInstanceOf(Date);
				expect((row.at as Date).toISOString()).toBe("2026-03-01T12:34:56.789Z");
				expect(row.doc).toEqual({ clue: "oak", nested: { points: 3 }, list: [1, "two"] });
				expect(bytesOf(row.raw)).toEqual([0, 1, 254, 255]);
				expect(row.labels).toEqual(["north", "a,b", 'with "quotes"', "back\\slash", "{braces}"]);
				expect(row.flag).toBe(true);
				expect(row.ratio).toBe(0.25);
				expect(row.id).toBe(1);
			});

			it("returns computed int8 (count(*), sums) as numbers and SQL null as null", async () => {
				const { rows } = await db.query<{ n: unknown; total: unknown; nothing: unknown }>(`select count(*) as n, sum(big) as total, null::text as nothing from "${schema}".typed`);
				expect(rows[0].n).toBe(1);
				// sum(int8) is numeric: a string, like every numeric.
				expect(rows[0].total).toBe("12345678901");
				expect(rows[0].nothing).toBeNull();
			});

			it("returns int8 beyond 2^53 as an exact bigint rather than a rounded number", async () => {
				const { rows } = await db.query<{ huge: unknown; negative: unknown }>("select 9007199254740993::int8 as huge, (-9007199254740993)::int8 as negative");
				expect(rows[0].huge).toBe(BigInt("9007199254740993"));
				expect(rows[0].negative).toBe(BigInt("-9007199254740993"));
			});

			it("binds a JSON text to jsonb the same on both engines (pg would send a JS array as a Postgres array)", async () => {
				const { rows } = await db.query<{ doc: unknown }>("select $1::text::jsonb as doc", [JSON.stringify(["a", { b: 1 }])]);
				expect(rows[0].doc).toEqual(["a", { b: 1 }]);
			});
		});

		describe("writes and rowCount", () => {
			let schema: string;

			beforeEach(async () => {
				schema = freshSchema();
				await db.exec(`create schema "${schema}"; create table "${schema}".items (id serial primary key, name text not null unique, qty int not null default 0)`);
			});

			it("reports how many rows insert, update and delete touched", async () => {
				const inserted = await db.query(`insert into "${schema}".items (name) values ($1), ($2), ($3)`, ["a", "b", "c"]);
				expect(inserted.rowCount).toBe(3);
				const returning = await db.query<{ id: number }>(`insert into "${schema}".items (name) values ($1) returning id`, ["d"]);
				expect(returning.rowCount).toBe(1);
				expect(returning.rows).toEqual([{ id: 4 }]);
				const updated = await db.query(`update "${schema}".items set qty = qty + 1 where name <> $1`, ["a"]);
				expect(updated.rowCount).toBe(3);
				const noMatch = await db.query(`update "${schema}".items set qty = 0 where name = $1`, ["zzz"]);
				expect(noMatch.rowCount).toBe(0);
				const deleted = await db.query(`delete from "${schema}".items where qty = $1`, [1]);
				expect(deleted.rowCount).toBe(3);
			});

			it("stores an injection-shaped value verbatim: parameters are never spliced into the SQL", async () => {
				const hostile = `x'); drop table "${schema}".items; --`;
				const alsoHostile = "'; drop table items; --";
				await db.query(`insert into "${schema}".items (name) values ($1), ($2)`, [hostile, alsoHostile]);
				const { rows } = await db.query<{ name: string }>(`select name from "${schema}".items where name = $1 or name = $2 order by name`, [hostile, alsoHostile]);
				expect(rows.map(row => row.name).sort()).toEqual([hostile, alsoHostile].sort());
				expect(await tableNames(db, schema)).toEqual(["items"]);
			});

			it("runs multi-statement scripts with exec", async () => {
				await db.exec(`
					insert into "${schema}".items (name) values ('one');
					insert into "${schema}".items (name) values ('two; not a separator');
					update "${schema}".items set qty = 7 where name = 'one';
				`);
				const { rows } = await db.query(`select name, qty from "${schema}".items order by id`);
				expect(rows).toEqual([
					{ name: "one", qty: 7 },
					{ name: "two; not a separator", qty: 0 },
				]);
			});

			it("reports the SQLSTATE in `code` (unique violation 23505) with the constraint", async () => {
				await db.query(`insert into "${schema}".items (name) values ($1)`, ["dup"]);
				const err = await rejectionOf(db.query(`insert into "${schema}".items (name) values ($1)`, ["dup"]));
				expect(isSqlError(err, SQLSTATE.uniqueViolation)).toBe(true);
				expect((err as { constraint?: string }).constraint).toBe("items_name_key");
				const missing = await rejectionOf(db.query(`select * from "${schema}".no_such_table`));
				expect(isSqlError(missing, SQLSTATE.undefinedTable)).toBe(true);
				const notNull = await rejectionOf(db.query(`insert into "${schema}".items (name) values (null)`));
				expect(isSqlError(notNull, SQLSTATE.notNullViolation)).toBe(true);
			});
		});

		describe("transactions", () => {
			let schema: string;

			beforeEach(async () => {
				schema = freshSchema();
				await db.exec(`
					create schema "${schema}";
					create table "${schema}".items (id serial primary key, name text not null unique);
					create table "${schema}".counter (id int primary key, value int not null);
					insert into "${schema}".counter values (1, 0);
				`);
			});

			it("commits every write when the work resolves, and returns its value", async () => {
				const result = await db.transaction(async tx => {
					await tx.query(`insert into "${schema}".items (name) values ($1)`, ["a"]);
					await tx.query(`insert into "${schema}".items (name) values ($1)`, ["b"]);
					return "done";
				});
				expect(result).toBe("done");
				const { rows } = await db.query(`select name from "${schema}".items order by name`);
				expect(rows).toEqual([{ name: "a" }, { name: "b" }]);
			});

			it("rolls back every write in it when the work throws, and rethrows that error", async () => {
				const failure = new Error("changed my mind");
				const err = await rejectionOf(
					db.transaction(async tx => {
						await tx.query(`insert into "${schema}".items (name) values ($1)`, ["a"]);
						await tx.query(`update "${schema}".counter set value = 99 where id = 1`);
						throw failure;
					}),
				);
				expect(err).toBe(failure);
				expect((await db.query(`select count(*) as n from "${schema}".items`)).rows[0].n).toBe(0);
				expect((await db.query(`select value from "${schema}".counter`)).rows[0].value).toBe(0);
			});

			it("rolls back when a statement in it fails, and the client stays usable", async () => {
				const err = await rejectionOf(
					db.transaction(async tx => {
						await tx.query(`insert into "${schema}".items (name) values ($1)`, ["a"]);
						await tx.query(`insert into "${schema}".items (name) values ($1)`, ["a"]);
					}),
				);
				expect(isSqlError(err, SQLSTATE.uniqueViolation)).toBe(true);
				expect((await db.query(`select count(*) as n from "${schema}".items`)).rows[0].n).toBe(0);
				await db.transaction(tx => tx.query(`insert into "${schema}".items (name) values ($1)`, ["after"]));
				expect((await db.query(`select name from "${schema}".items`)).rows).toEqual([{ name: "after" }]);
			});

			it("keeps 20 concurrent read-modify-write transactions from losing an update (select … for update)", async () => {
				// The value is read, then written back after a pause, computed in JS: without the row lock
				// two transactions would read the same value and one increment would be lost.
				await Promise.all(
					Array.from({ length: 20 }, () =>
						db.transaction(async tx => {
							const { rows } = await tx.query<{ value: number }>(`select value from "${schema}".counter where id = 1 for update`);
							await new Promise(resolve => setTimeout(resolve, 2));
							await tx.query(`update "${schema}".counter set value = $1 where id = 1`, [rows[0].value + 1]);
						}),
					),
				);
				expect((await db.query(`select value from "${schema}".counter where id = 1`)).rows[0].value).toBe(20);
			});
		});

		describe("migrations", () => {
			const createPlaces: Migration = {
				version: 1,
				name: "places",
				up: `create table places (id serial primary key, name text not null);
				     create index places_name on places (name);`,
			};
			// Needs migration 1's table: proves they run in version order whatever the array order.
			const seedPlaces: Migration = { version: 2, name: "seed places", up: `insert into places (name) values ('fountain'), ('bridge');` };
			// A function body with semicolons inside dollar quotes, and comments with semicolons.
			const placeCount: Migration = {
				version: 3,
				name: "place count function",
				// `set search_path from current` pins the migration's schema for the body, which is
				// resolved when the function is called, from whatever schema the caller uses.
				up: `-- counts places; used by a test
				     create function place_count() returns bigint language plpgsql set search_path from current as $body$
				     begin
				       return (select count(*) from places); -- inner; comment
				     end;
				     $body$;
				     /* a block comment; with a semicolon */
				     comment on table places is 'places; with a semicolon';`,
			};

			it("applies pending migrations in version order, once, and records them", async () => {
				const schema = freshSchema();
				expect(await runMigrations(db, schema, [placeCount, seedPlaces, createPlaces])).toEqual([1, 2, 3]);
				expect(await appliedVersions(db, schema)).toEqual([1, 2, 3]);
				expect(await tableNames(db, schema)).toEqual(["places", "schema_migrations"]);
				const { rows } = await db.query(`select "${schema}".place_count() as n`);
				expect(rows[0].n).toBe(2);
				const comment = await db.query(`select obj_description($1::regclass) as text`, [`"${schema}".places`]);
				expect(comment.rows[0].text).toBe("places; with a semicolon");
			});

			it("applies nothing when run again, and only the new one when one is added", async () => {
				const schema = freshSchema();
				await runMigrations(db, schema, [createPlaces, seedPlaces]);
				expect(await runMigrations(db, schema, [createPlaces, seedPlaces])).toEqual([]);
				expect(await runMigrations(db, schema, [createPlaces, seedPlaces, placeCount])).toEqual([3]);
				// The seed ran once: re-running did not insert the rows a second time.
				expect((await db.query(`select count(*) as n from "${schema}".places`)).rows[0].n).toBe(2);
			});

			it("refuses an applied migration whose text was edited", async () => {
				const schema = freshSchema();
				await runMigrations(db, schema, [createPlaces]);
				const edited = { ...createPlaces, up: createPlaces.up.replace("not null", "") };
				const err = await rejectionOf(runMigrations(db, schema, [edited, seedPlaces]));
				expect(err).toBeInstanceOf(MigrationError);
				expect((err as Error).message).toMatch(/migration 1 .*edited/);
				// Refused before anything else ran: the pending seed was not applied either.
				expect(await appliedVersions(db, schema)).toEqual([1]);
			});

			it("refuses to run when the database has a version this build does not know", async () => {
				const schema = freshSchema();
				await runMigrations(db, schema, [createPlaces, seedPlaces]);
				const err = await rejectionOf(runMigrations(db, schema, [createPlaces]));
				expect(err).toBeInstanceOf(MigrationError);
				expect((err as Error).message).toMatch(/migration 2 .*does not know/);
			});

			it("refuses duplicate and invalid versions before touching the database", async () => {
				const schema = freshSchema();
				const duplicate = await rejectionOf(runMigrations(db, schema, [createPlaces, { ...seedPlaces, version: 1 }]));
				expect(duplicate).toBeInstanceOf(MigrationError);
				expect((duplicate as Error).message).toMatch(/version 1 is used twice/);
				const notPositive = await rejectionOf(runMigrations(db, schema, [{ ...createPlaces, version: 0 }]));
				expect(notPositive).toBeInstanceOf(MigrationError);
				expect(await schemaExists(db, schema)).toBe(false);
				const badSchema = await rejectionOf(runMigrations(db, 'x"; drop schema public; --', [createPlaces]));
				expect(badSchema).toBeInstanceOf(MigrationError);
			});

			it("rolls back a failing run entirely: no half-made schema, no row in schema_migrations", async () => {
				const schema = freshSchema();
				const broken: Migration = {
					version: 2,
					name: "broken",
					up: `create table halfway (id int);
					     insert into places (no_such_column) values (1);`,
				};
				const first = await rejectionOf(runMigrations(db, schema, [createPlaces, broken]));
				expect(isSqlError(first)).toBe(true);
				// Migration 1 succeeded in that run but shared its transaction: it is gone too.
				expect(await schemaExists(db, schema)).toBe(false);

				await runMigrations(db, schema, [createPlaces]);
				const second = await rejectionOf(runMigrations(db, schema, [createPlaces, broken]));
				expect(isSqlError(second)).toBe(true);
				expect(await tableNames(db, schema)).toEqual(["places", "schema_migrations"]);
				expect(await appliedVersions(db, schema)).toEqual([1]);
			});

			it("leaves the caller's search_path alone after running", async () => {
				const schema = freshSchema();
				const before = (await db.query<{ path: string }>("select current_setting('search_path') as path")).rows[0].path;
				await runMigrations(db, schema, [createPlaces]);
				const after = (await db.query<{ path: string }>("select current_setting('search_path') as path")).rows[0].path;
				expect(after).toBe(before);
				// Nothing leaked into public: unqualified names went to the service's schema.
				expect(await tableNames(db, "public")).not.toContain("places");
			});

			it("applies each migration once when runs on one client overlap", async () => {
				const schema = freshSchema();
				const runs = await Promise.all(Array.from({ length: 5 }, () => runMigrations(db, schema, [createPlaces, seedPlaces, placeCount])));
				expect(runs.flat().sort()).toEqual([1, 2, 3]);
				expect((await db.query(`select count(*) as n from "${schema}".places`)).rows[0].n).toBe(2);
			});

			itWithSeparateClients("applies each migration exactly once when 5 separate pools migrate the same new schema at once", async () => {
				const open = target.openSeparateClient;
				if (!open) throw new Error("separateClients was declared but setup gave no openSeparateClient");
				// Several rounds, each on a new schema: a race in `create schema` shows up only sometimes.
				for (let round = 0; round < 3; round++) {
					const schema = freshSchema();
					const pools = Array.from({ length: 5 }, () => open());
					try {
						// Connect every pool first so the runs really start together.
						await Promise.all(pools.map(pool => pool.ping()));
						const runs = await Promise.all(pools.map(pool => runMigrations(pool, schema, [createPlaces, seedPlaces, placeCount])));
						expect(runs.flat().sort()).toEqual([1, 2, 3]);
						expect(runs.filter(run => run.length > 0)).toHaveLength(1);
						expect(await appliedVersions(db, schema)).toEqual([1, 2, 3]);
						expect((await db.query(`select count(*) as n from "${schema}".places`)).rows[0].n).toBe(2);
					} finally {
						await Promise.all(pools.map(pool => pool.close()));
					}
				}
			});
		});
	});
}
