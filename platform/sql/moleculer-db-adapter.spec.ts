/**
 * moleculer-db's actions through a real ServiceBroker on SqlDbAdapter, on PGlite and on PostgreSQL:
 * the same contract, each in its own schema created by runMigrations.
 */
import { randomUUID } from "node:crypto";
import { Context, Service, ServiceBroker, type ServiceSchema } from "moleculer";
import DbService, { type DbServiceSettings } from "moleculer-db";
import { describeWithBackend } from "../../test/support/backends";
import { openTestPGlite, openTestPostgres, uniqueSchema } from "../../test/support/sql";
import { runMigrations, type Migration } from "./migrations";
import { SqlDbAdapter, type Entity } from "./moleculer-db-adapter";
import type { SqlClient } from "./types";

const migrations: Migration[] = [
	{
		version: 1,
		name: "things",
		up: `create table things (
			id uuid primary key default gen_random_uuid(),
			name text not null unique,
			score integer not null default 0,
			tags jsonb not null default '[]',
			note text,
			labels text[],
			created_at timestamptz not null default now()
		);`,
	},
];

/**
 * Names chosen so search, sort ties and LIKE wildcards each have one right answer. The two rows
 * tying on score 5 get ids in the opposite order of their insertion, so only the id tie-breaker
 * (not the table's physical order) puts "Fountain of Youth" first.
 */
const SEED = [
	{ name: "Old Fountain", score: 5, tags: ["water"], id: "ffffffff-0000-4000-8000-000000000000" },
	{ name: "Bridge", score: 9, tags: ["river", "stone"], labels: ["old", "stone, grey"] },
	{ name: "Tower", score: 1, note: "tall", labels: ["tall"] },
	{ name: "Fountain of Youth", score: 5, id: "00000000-0000-4000-8000-000000000000" },
	{ name: "100% Park_1", score: 3 },
];

interface OpenedDatabase {
	client: SqlClient;
	close(): Promise<void>;
}

interface ListResult {
	rows: Entity[];
	total: number;
	page: number;
	pageSize: number;
	totalPages: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function rejectionOf(promise: Promise<unknown>): Promise<Record<string, unknown>> {
	try {
		await promise;
	} catch (err) {
		return err as Record<string, unknown>;
	}
	throw new Error("expected a rejection, but the call resolved");
}

const names = (rows: Entity[]) => rows.map(row => row.name);

/** moleculer-db reads `adapter` from the schema; Moleculer's ServiceSchema type does not list it. */
function thingsService(adapter: SqlDbAdapter, name: string, idField: string): ServiceSchema<DbServiceSettings> & { adapter: SqlDbAdapter } {
	return {
		name,
		mixins: [DbService as unknown as ServiceSchema],
		adapter,
		settings: { idField, pageSize: 2, maxPageSize: 50 },
		actions: {
			/** Two inserts that must land together; `failAfter` throws once both are written. */
			createPair: {
				params: { first: "string", second: "string", failAfter: { type: "boolean", optional: true } },
				handler(this: Service<DbServiceSettings>, ctx: Context<{ first: string; second: string; failAfter?: boolean }>) {
					// moleculer-db puts the adapter on the service; Moleculer's Service type does not know it.
					const { adapter } = this as unknown as { adapter: SqlDbAdapter };
					return adapter.transaction(async (_tx, inTx) => {
						const first = await inTx.insert({ name: ctx.params.first });
						const second = await inTx.insert({ name: ctx.params.second });
						if (ctx.params.failAfter) throw new Error("changed my mind after writing both");
						return [first, second].map(row => inTx.entityToObject(row));
					});
				},
			},
		},
	};
}

function adapterContract(engine: string, open: () => Promise<OpenedDatabase>): void {
	describe(`SqlDbAdapter through moleculer-db on ${engine}`, () => {
		let database: OpenedDatabase;
		let broker: ServiceBroker;
		let adapter: SqlDbAdapter;
		const schema = uniqueSchema("things");

		beforeAll(async () => {
			database = await open();
			const migrated = (async () => {
				await runMigrations(database.client, schema, migrations);
				return database.client;
			})();
			broker = new ServiceBroker({ logger: false, skipProcessEventRegistration: true, nodeID: `adapter-${engine}-${randomUUID().slice(0, 8)}` });
			broker.createService(thingsService(new SqlDbAdapter({ table: "things", schema, database: () => migrated, jsonColumns: ["tags"] }), "things", "id"));
			// The same table behind moleculer-db's default idField "_id": the adapter maps it to "id".
			broker.createService(thingsService(new SqlDbAdapter({ table: "things", schema, database: () => migrated }), "aliased", "_id"));
			await broker.start();
			// Moleculer copies the schema when it merges mixins: the connected adapter is the service's.
			adapter = (broker.getLocalService("things") as unknown as { adapter: SqlDbAdapter }).adapter;
		});

		afterAll(async () => {
			await broker?.stop();
			await database?.client.query(`drop schema if exists "${schema}" cascade`);
			await database?.close();
		});

		beforeEach(async () => {
			await adapter.clear();
		});

		const call = <T = Entity>(action: string, params: object = {}) => broker.call<T, object>(`things.${action}`, params);
		const seed = () => call<Entity[]>("insert", { entities: SEED });

		describe("create, get, update, remove", () => {
			it("creates with ids and defaults from the database, as JSON-safe values", async () => {
				const before = Date.now();
				const created = await call("create", { name: "Statue", tags: ["bronze", { year: 1901 }] });
				expect(created).toEqual({
					id: expect.stringMatching(UUID),
					name: "Statue",
					score: 0,
					tags: ["bronze", { year: 1901 }],
					note: null,
					labels: null,
					created_at: expect.any(String),
				});
				// An ISO string, as a remote caller would get it, not a Date that only survives locally.
				const createdAt = Date.parse(created.created_at as string);
				expect(created.created_at).toBe(new Date(createdAt).toISOString());
				expect(createdAt).toBeGreaterThanOrEqual(before - 60_000);
				expect(await call("get", { id: created.id })).toEqual(created);
			});

			it("inserts many in one call, returning each with its id, in order", async () => {
				const inserted = await seed();
				expect(names(inserted)).toEqual(SEED.map(thing => thing.name));
				expect(new Set(inserted.map(row => row.id)).size).toBe(SEED.length);
				inserted.forEach(row => expect(row.id).toMatch(UUID));
				expect(await call("count")).toBe(SEED.length);
			});

			it("gets one, several, with field filtering, and as an id-keyed mapping", async () => {
				const [fountain, bridge] = await seed();
				expect(await call("get", { id: fountain.id, fields: ["name", "score"] })).toEqual({ name: "Old Fountain", score: 5 });
				const both = await call<Entity[]>("get", { id: [bridge.id, fountain.id], fields: "name" });
				expect(names(both).sort()).toEqual(["Bridge", "Old Fountain"]);
				const mapping = await call<Record<string, Entity>>("get", { id: [bridge.id], mapping: true, fields: ["name"] });
				expect(mapping).toEqual({ [bridge.id as string]: { name: "Bridge" } });
			});

			it("answers 404 for a missing id and for ids that cannot be one, never a 500", async () => {
				await seed();
				for (const id of [randomUUID(), "not-a-uuid", "1; drop table things", 42]) {
					const err = await rejectionOf(call("get", { id }));
					expect(err).toMatchObject({ name: "EntityNotFoundError", code: 404 });
				}
				expect(await adapter.findByIds(["nope", randomUUID()])).toEqual([]);
			});

			it("updates by id through the action, and with $inc / $unset through the adapter", async () => {
				const [fountain] = await seed();
				const updated = await call("update", { id: fountain.id, score: 10, tags: ["water", "wish"] });
				expect(updated).toMatchObject({ id: fountain.id, name: "Old Fountain", score: 10, tags: ["water", "wish"] });
				expect(await call("get", { id: fountain.id })).toEqual(updated);
				// An update with nothing to change answers with the entity as it is.
				expect(await call("update", { id: fountain.id })).toEqual(updated);

				const tower = (await call<Entity[]>("find", { query: { name: "Tower" } }))[0];
				const bumped = await adapter.updateById(tower.id, { $inc: { score: 2 }, $unset: { note: 1 } });
				expect(bumped).toMatchObject({ name: "Tower", score: 3, note: null });
				expect(await adapter.updateMany({ score: 5 }, { $inc: { score: 1 } })).toBe(1);
				expect(await call("count", { query: { score: 6 } })).toBe(1);
			});

			it("answers 404 when updating or removing a missing or malformed id", async () => {
				for (const id of [randomUUID(), "not-a-uuid"]) {
					expect(await rejectionOf(call("update", { id, score: 1 }))).toMatchObject({ code: 404 });
					expect(await rejectionOf(call("remove", { id }))).toMatchObject({ code: 404 });
				}
			});

			it("removes by id, returning what was removed", async () => {
				const [fountain] = await seed();
				expect(await call("remove", { id: fountain.id })).toMatchObject({ id: fountain.id, name: "Old Fountain" });
				expect(await rejectionOf(call("get", { id: fountain.id }))).toMatchObject({ code: 404 });
				expect(await rejectionOf(call("remove", { id: fountain.id }))).toMatchObject({ code: 404 });
				expect(await call("count")).toBe(SEED.length - 1);
				expect(await adapter.removeMany({ score: 5 })).toBe(1);
				expect(await call("count")).toBe(SEED.length - 2);
			});

			it("maps the service's idField to the id column both ways", async () => {
				const created = await broker.call<Entity, object>("aliased.create", { name: "Aliased" });
				expect(created._id).toMatch(UUID);
				expect(created).not.toHaveProperty("id");
				expect(await broker.call("aliased.get", { id: created._id })).toEqual(created);
				expect(await broker.call("aliased.find", { query: { _id: created._id }, sort: "-_id" })).toEqual([created]);
				const chosenId = randomUUID();
				expect(await broker.call("aliased.create", { _id: chosenId, name: "Chosen id" })).toMatchObject({ _id: chosenId });
				expect(await call("get", { id: chosenId })).toMatchObject({ id: chosenId, name: "Chosen id" });
			});
		});

		describe("list, find and count", () => {
			beforeEach(seed);

			it("pages and sorts, ties broken the same on every page", async () => {
				const page = await call<ListResult>("list", { page: 2, pageSize: 2, sort: "-score,name" });
				expect(names(page.rows)).toEqual(["Old Fountain", "100% Park_1"]);
				expect(page).toMatchObject({ total: 5, page: 2, pageSize: 2, totalPages: 3 });
				// Two rows tie on score 5: the id decides, so pages neither repeat nor skip a row.
				expect(names(await call<Entity[]>("find", { sort: "-score" }))).toEqual(["Bridge", "Fountain of Youth", "Old Fountain", "100% Park_1", "Tower"]);
				const seen: unknown[] = [];
				for (let pageNumber = 1; pageNumber <= 3; pageNumber++) {
					seen.push(...names((await call<ListResult>("list", { page: pageNumber, pageSize: 2, sort: "-score" })).rows));
				}
				expect(seen.slice().sort()).toEqual(SEED.map(thing => thing.name).sort());
				// The service's default pageSize (2) applies without one.
				expect((await call<ListResult>("list", { sort: "name" })).rows).toHaveLength(2);
			});

			it("searches case-insensitively in text columns, with % and _ taken literally", async () => {
				expect(names(await call<Entity[]>("find", { search: "FOUNTAIN", sort: "name" }))).toEqual(["Fountain of Youth", "Old Fountain"]);
				expect(names(await call<Entity[]>("find", { search: "%" }))).toEqual(["100% Park_1"]);
				expect(names(await call<Entity[]>("find", { search: "_" }))).toEqual(["100% Park_1"]);
				// note is a text column too, so searched by default; not when only name is asked for.
				expect(names(await call<Entity[]>("find", { search: "tall" }))).toEqual(["Tower"]);
				expect(await call<Entity[]>("find", { search: "tall", searchFields: "name" })).toEqual([]);
				// A non-text column asked for explicitly is searched in its text form.
				expect(names(await call<Entity[]>("find", { search: "9", searchFields: ["score"] }))).toEqual(["Bridge"]);
				const list = await call<ListResult>("list", { search: "fountain", pageSize: 1, sort: "name" });
				expect(list).toMatchObject({ total: 2, totalPages: 2 });
				expect(names(list.rows)).toEqual(["Fountain of Youth"]);
			});

			it("returns only the requested fields", async () => {
				const page = await call<ListResult>("list", { fields: ["name", "score"], sort: "-score,name" });
				expect(page.rows).toEqual([
					{ name: "Bridge", score: 9 },
					{ name: "Fountain of Youth", score: 5 },
				]);
			});

			it("finds by equality, $in, null, JSON value, with limit and offset", async () => {
				expect(names(await call<Entity[]>("find", { query: { score: 5 }, sort: "name" }))).toEqual(["Fountain of Youth", "Old Fountain"]);
				expect(names(await call<Entity[]>("find", { query: { name: { $in: ["Bridge", "Tower", "Nowhere"] } }, sort: "name" }))).toEqual(["Bridge", "Tower"]);
				expect(await call<Entity[]>("find", { query: { name: { $in: [] } } })).toEqual([]);
				expect(names(await call<Entity[]>("find", { query: { note: null }, sort: "name" }))).toEqual(["100% Park_1", "Bridge", "Fountain of Youth", "Old Fountain"]);
				expect(names(await call<Entity[]>("find", { query: { note: { $in: ["tall", null] } }, sort: "name" }))).toHaveLength(5);
				expect(names(await call<Entity[]>("find", { query: { tags: ["river", "stone"] } }))).toEqual(["Bridge"]);
				expect(names(await call<Entity[]>("find", { query: { labels: ["old", "stone, grey"] } }))).toEqual(["Bridge"]);
				expect(names(await call<Entity[]>("find", { query: { labels: { $in: [["tall"], ["old", "stone, grey"]] } }, sort: "name" }))).toEqual(["Bridge", "Tower"]);
				// As the gateway passes it: the query as a JSON string.
				expect(names(await call<Entity[]>("find", { query: JSON.stringify({ name: "Tower" }) }))).toEqual(["Tower"]);
				expect(names(await call<Entity[]>("find", { sort: "name", limit: 2, offset: 1 }))).toEqual(["Bridge", "Fountain of Youth"]);
				expect(await adapter.findOne({ score: 9 })).toMatchObject({ name: "Bridge" });
				expect(await adapter.findOne({ score: 99 })).toBeNull();
			});

			it("counts with the same filters as find", async () => {
				expect(await call("count")).toBe(5);
				expect(await call("count", { query: { score: 5 } })).toBe(2);
				expect(await call("count", { search: "fountain" })).toBe(2);
				expect(await call("count", { search: "fountain", query: { name: "Bridge" } })).toBe(0);
			});
		});

		describe("client errors", () => {
			it("answers a duplicate with 409 ALREADY_EXISTS naming the field, on create and on update", async () => {
				const [fountain] = await seed();
				const onCreate = await rejectionOf(call("create", { name: "Bridge" }));
				expect(onCreate).toMatchObject({ name: "MoleculerClientError", code: 409, type: "ALREADY_EXISTS", data: { fields: ["name"] } });
				const onUpdate = await rejectionOf(call("update", { id: fountain.id, name: "Bridge" }));
				expect(onUpdate).toMatchObject({ code: 409, type: "ALREADY_EXISTS" });
			});

			it("rejects unknown fields in sort, query, searchFields, entities and updates with 422, building no SQL from them", async () => {
				await seed();
				const attempts: Promise<unknown>[] = [
					call("find", { sort: "nonsense" }),
					call("list", { sort: "name; drop table things; --" }),
					call("find", { query: { '"name" = "name" or 1=1 --': "x" } }),
					call("find", { query: { $where: "1=1" } }),
					call("count", { search: "x", searchFields: ["name", "name) or true or (name"] }),
					call("create", { name: "Sneaky", is_admin: true }),
					call("update", { id: randomUUID(), 'score" = 0, name = "x': 1 }),
				];
				for (const attempt of attempts) {
					expect(await rejectionOf(attempt)).toMatchObject({ name: "MoleculerClientError", code: 422, type: "VALIDATION_FAILED" });
				}
				const unknownSort = await rejectionOf(call("find", { sort: "-nonsense" }));
				expect(unknownSort.message).toMatch(/Unknown field "nonsense" in sort/);
				expect(await call("count")).toBe(SEED.length);
			});

			it("rejects unsupported filters and updates with 422", async () => {
				const [fountain] = await seed();
				expect(await rejectionOf(call("find", { query: { score: { $gt: 1 } } }))).toMatchObject({ code: 422 });
				expect(await rejectionOf(call("find", { query: { score: [1, 5] } }))).toMatchObject({ code: 422 });
				expect(await rejectionOf(adapter.updateById(fountain.id, { $rename: { score: "points" } } as never))).toMatchObject({ code: 422 });
				expect(await rejectionOf(adapter.updateById(fountain.id, { $set: { score: 1 }, $inc: { score: 1 } }))).toMatchObject({ code: 422 });
				expect(await rejectionOf(adapter.updateById(fountain.id, { id: randomUUID() }))).toMatchObject({ code: 422 });
			});

			it("stores injection-shaped values verbatim and finds them by value", async () => {
				const hostile = "Robert'); drop table things; --";
				const created = await call("create", { name: hostile, note: "'; select pg_sleep(10); --", tags: ["'\"; --"] });
				expect(await call("get", { id: created.id })).toMatchObject({ name: hostile, note: "'; select pg_sleep(10); --", tags: ["'\"; --"] });
				expect(names(await call<Entity[]>("find", { query: { name: hostile } }))).toEqual([hostile]);
				expect(names(await call<Entity[]>("find", { search: "'); drop" }))).toEqual([hostile]);
				expect(await call("count")).toBe(1);
			});

			it("answers a value of the wrong type or a missing required field with 422, not 500", async () => {
				expect(await rejectionOf(call("create", { name: "Bad score", score: "lots" }))).toMatchObject({ code: 422, type: "VALIDATION_FAILED" });
				expect(await rejectionOf(call("create", { score: 1 }))).toMatchObject({ code: 422, type: "VALIDATION_FAILED", data: [{ field: "name" }] });
				// No fields at all: every column from its default, and name has none.
				expect(await rejectionOf(call("create", {}))).toMatchObject({ code: 422, type: "VALIDATION_FAILED" });
				expect(await rejectionOf(call("find", { limit: -1 }))).toMatchObject({ code: 422 });
			});
		});

		describe("transactions", () => {
			it("commits both writes of a transaction together", async () => {
				const pair = await call<Entity[]>("createPair", { first: "Left gate", second: "Right gate" });
				expect(names(pair)).toEqual(["Left gate", "Right gate"]);
				expect(await call("count")).toBe(2);
			});

			it("rolls back every write of a transaction that throws", async () => {
				await seed();
				const err = await rejectionOf(call("createPair", { first: "Left gate", second: "Right gate", failAfter: true }));
				expect(err.message).toBe("changed my mind after writing both");
				// The second insert collides: the first, already written in the transaction, goes too.
				expect(await rejectionOf(call("createPair", { first: "Left gate", second: "Bridge" }))).toMatchObject({ code: 409 });
				expect(await call("count", { query: { name: { $in: ["Left gate", "Right gate"] } } })).toBe(0);
				expect(await call("count")).toBe(SEED.length);
			});
		});

		describe("large inserts", () => {
			// 7 columns × 11,000 rows is past PostgreSQL's 65,535 bind parameters: two statements.
			const many = (count: number) =>
				Array.from({ length: count }, (_, index) => ({
					id: randomUUID(),
					name: `bulk ${String(index).padStart(5, "0")}`,
					score: index,
					tags: [index],
					note: null,
					labels: [`#${index}`],
					created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, index % 60)),
				}));

			it("inserts more rows than one statement can bind, in order", async () => {
				const entities = many(11_000);
				const inserted = await adapter.insertMany(entities);
				expect(inserted.map(row => row.id)).toEqual(entities.map(entity => entity.id));
				expect(await adapter.count()).toBe(11_000);
				expect(await adapter.findOne({ name: "bulk 10999" })).toMatchObject({ score: 10999, tags: [10999] });
			});

			it("inserts all of them or none: a clash in the second statement undoes the first", async () => {
				const entities = many(11_000);
				entities[10_999].name = entities[0].name;
				expect(await rejectionOf(adapter.insertMany(entities))).toMatchObject({ code: 409 });
				expect(await adapter.count()).toBe(0);
			});
		});

		describe("connect", () => {
			const initialised = (options: Partial<ConstructorParameters<typeof SqlDbAdapter>[0]>) => {
				const probe = new SqlDbAdapter({ table: "things", schema, database: () => database.client, ...options });
				probe.init(broker, { name: "probe", broker });
				return probe;
			};

			it("fails clearly when the table is missing or a declared JSON column is not JSON", async () => {
				await expect(initialised({ table: "no_such_table" }).connect()).rejects.toThrow(/does not exist/);
				await expect(initialised({ jsonColumns: ["name"] }).connect()).rejects.toThrow(/not json or jsonb/);
				await expect(initialised({ idField: "missing_id" }).connect()).rejects.toThrow(/no id column/);
				expect(() => new SqlDbAdapter({ table: 'things"; --', schema, database: () => database.client })).toThrow(/Invalid table name/);
			});
		});
	});
}

adapterContract("PGlite", async () => {
	const opened = await openTestPGlite();
	return { client: opened.client, close: () => opened.dispose() };
});

describeWithBackend("postgres", "PostgreSQL", status => {
	adapterContract("PostgreSQL", async () => {
		const client = openTestPostgres(status.url);
		return { client, close: () => client.close() };
	});
});
