/**
 * moleculer-db's actions through a real broker on the SQL adapter, on PGlite and on PostgreSQL.
 */
import fs from "node:fs";
import { randomUUID } from "node:crypto";
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../config/env";
import { attachNodeBackends, nodeBackends } from "../runtime/node-backends";
import { EntityMixin } from "../../mixins/entity.mixin";
import { DatabaseMixin, DatabaseServiceThis } from "../../mixins/database.mixin";
import { describeWithBackend } from "../../test/support/backends";
import { prepareDataDir } from "../../test/support/node";
import type { Migration } from "./migrations";

const migrations: Migration[] = [
	{
		version: 1,
		name: "things",
		up: `create table things (
			id uuid primary key default gen_random_uuid(),
			name text not null unique,
			score integer not null default 0,
			tags jsonb not null default '[]',
			created_at timestamptz not null default now()
		)`,
	},
];

function adapterContract(engine: string, env: () => Record<string, string>) {
	describe(`moleculer-db on ${engine}`, () => {
		let broker: ServiceBroker;
		const service = `things_${randomUUID().replace(/-/g, "").slice(0, 8)}`;

		beforeAll(async () => {
			broker = new ServiceBroker({ logger: false, skipProcessEventRegistration: true });
			attachNodeBackends(broker, loadConfig({ NODE_ENV: "test", ...env() }));
			broker.createService({ name: service, mixins: [EntityMixin({ table: "things", migrations })], settings: { pageSize: 2 } });
			broker.createService({
				name: `${service}_raw`,
				mixins: [DatabaseMixin([{ version: 1, name: "counters", up: "create table counters (name text primary key, value int not null)" }])],
				actions: {
					bump(this: DatabaseServiceThis) {
						return this.db
							.query<{ value: number }>(`insert into ${this.table("counters")} values ('visits', 1) on conflict (name) do update set value = counters.value + 1 returning value`)
							.then(result => result.rows[0].value);
					},
				},
			});
			await broker.start();
		});

		afterAll(async () => {
			const db = await nodeBackends(broker).database(service);
			await db.query(`drop schema if exists "${service}" cascade`);
			await db.query(`drop schema if exists "${service}_raw" cascade`);
			await broker.stop();
			// Our moleculer.config closes them in the broker's `stopped` hook; this bare broker has none.
			await nodeBackends(broker).close();
		});

		const call = <T = any>(action: string, params: Record<string, unknown> = {}) => broker.call<T, Record<string, unknown>>(`${service}.${action}`, params);

		it("creates, reads, lists with paging, sorting, search and field filtering", async () => {
			const fountain = await call("create", { name: "Fountain", score: 5, tags: ["water"] });
			expect(fountain).toEqual(expect.objectContaining({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: "Fountain", score: 5, tags: ["water"] }));
			await call("insert", { entities: [{ name: "Bridge", score: 9 }, { name: "Old tower", score: 1 }] });

			expect(await call("get", { id: fountain.id, fields: ["name"] })).toEqual({ name: "Fountain" });
			const page = await call("list", { sort: "-score", page: 1 });
			expect(page).toEqual(expect.objectContaining({ total: 3, page: 1, pageSize: 2, totalPages: 2 }));
			expect(page.rows.map((r: any) => r.name)).toEqual(["Bridge", "Fountain"]);
			expect((await call("find", { search: "TOW" })).map((r: any) => r.name)).toEqual(["Old tower"]);
			expect(await call("count", { query: { score: 9 } })).toBe(1);
			expect((await call("find", { query: { name: ["Bridge", "Fountain"] }, sort: "name" })).map((r: any) => r.name)).toEqual(["Bridge", "Fountain"]);
		});

		it("updates and removes by id, and treats an impossible id as not found", async () => {
			const created = await call("create", { name: "Statue", score: 2 });
			expect(await call("update", { id: created.id, score: 7 })).toEqual(expect.objectContaining({ name: "Statue", score: 7 }));
			await call("remove", { id: created.id });
			await expect(call("get", { id: created.id })).rejects.toMatchObject({ code: 404 });
			await expect(call("get", { id: "not-a-uuid" })).rejects.toMatchObject({ code: 404 });
		});

		it("answers a duplicate with 409 ALREADY_EXISTS", async () => {
			await call("create", { name: "Unique place" });
			await expect(call("create", { name: "Unique place" })).rejects.toMatchObject({ code: 409, type: "ALREADY_EXISTS" });
		});

		it("refuses unknown fields in filters, sorts and entities instead of building SQL from them", async () => {
			await expect(call("find", { sort: 'score; drop table things; --' })).rejects.toMatchObject({ code: 422, type: "VALIDATION_FAILED" });
			await expect(call("find", { query: { '"name" or 1=1 --': "x" } })).rejects.toMatchObject({ code: 422 });
			await expect(call("create", { name: "Sneaky", is_admin: true })).rejects.toMatchObject({ code: 422 });
			expect(await call("count")).toBeGreaterThan(0);
		});

		it("gives a plain service its own migrated schema through DatabaseMixin", async () => {
			expect(await broker.call(`${service}_raw.bump`)).toBe(1);
			expect(await broker.call(`${service}_raw.bump`)).toBe(2);
		});

		it("stores injection-shaped values verbatim", async () => {
			const value = "Robert'); drop table things; --";
			const created = await call("create", { name: value });
			expect((await call("get", { id: created.id })).name).toBe(value);
		});

		it("rolls back every write of a failed transaction", async () => {
			const svc = broker.getLocalService(service) as unknown as { transaction<T>(work: (tx: { query(sql: string, params?: unknown[]): Promise<unknown> }) => Promise<T>): Promise<T> };
			const before = await call<number>("count");
			await expect(
				svc.transaction(async tx => {
					await tx.query(`insert into "${service}".things (name) values ($1)`, ["Half written"]);
					await tx.query(`insert into "${service}".things (name) values ($1)`, ["Half written"]);
				}),
			).rejects.toMatchObject({ code: "23505" });
			expect(await call<number>("count")).toBe(before);
		});
	});
}

describe("embedded", () => {
	const dataDir = prepareDataDir();
	afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));
	adapterContract("PGlite", () => ({ DATA_DIR: dataDir }));
});

describeWithBackend("postgres", "PostgreSQL", pg => {
	adapterContract("PostgreSQL", () => ({ DATABASE_URL: pg.url }));
});
