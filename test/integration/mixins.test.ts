/**
 * The two ways a service gets its data, through a broker built like production (node backends
 * attached): EntityMixin (moleculer-db actions on a table of the service's schema) and
 * DatabaseMixin (a migrated schema and a SqlClient).
 */
import fs from "node:fs";
import { randomUUID } from "node:crypto";
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../platform/config/env";
import { attachNodeBackends, nodeBackends } from "../../platform/runtime/node-backends";
import { EntityMixin } from "../../mixins/entity.mixin";
import { DatabaseMixin, DatabaseServiceThis } from "../../mixins/database.mixin";
import { describeWithBackend } from "../support/backends";
import { prepareDataDir } from "../support/node";

function mixinsContract(engine: string, env: () => Record<string, string>) {
	describe(`service data mixins on ${engine}`, () => {
		let broker: ServiceBroker;
		const suffix = randomUUID().replace(/-/g, "").slice(0, 8);
		const places = `places_${suffix}`;
		const counters = `counters_${suffix}`;

		beforeAll(async () => {
			broker = new ServiceBroker({ logger: false, skipProcessEventRegistration: true });
			attachNodeBackends(broker, loadConfig({ NODE_ENV: "test", ...env() }), { channels: false });
			broker.createService({
				name: places,
				mixins: [EntityMixin({ table: "places", migrations: [{ version: 1, name: "places", up: "create table places (id uuid primary key default gen_random_uuid(), name text not null unique)" }] })],
			});
			broker.createService({
				name: counters,
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
			const db = await nodeBackends(broker).database(places);
			for (const schema of [places, counters]) await db.query(`drop schema if exists "${schema}" cascade`);
			await broker.stop();
			// moleculer.config closes them in the broker's `stopped` hook; this bare broker has none.
			await nodeBackends(broker).close();
		});

		it("gives an entity service moleculer-db's actions on its own migrated table", async () => {
			const created = await broker.call<{ id: string; name: string }, Record<string, unknown>>(`${places}.create`, { name: "Fountain" });
			expect(await broker.call(`${places}.get`, { id: created.id })).toEqual(expect.objectContaining({ name: "Fountain" }));
			await expect(broker.call(`${places}.create`, { name: "Fountain" })).rejects.toMatchObject({ code: 409 });
		});

		it("gives a plain service a migrated schema and a client", async () => {
			expect(await broker.call(`${counters}.bump`)).toBe(1);
			expect(await broker.call(`${counters}.bump`)).toBe(2);
		});

		it("rolls back every write of a failed transaction of an entity service", async () => {
			const svc = broker.getLocalService(places) as unknown as { transaction<T>(work: (tx: { query(sql: string, params?: unknown[]): Promise<unknown> }) => Promise<T>): Promise<T> };
			const before = await broker.call<number, Record<string, unknown>>(`${places}.count`, {});
			await expect(
				svc.transaction(async tx => {
					await tx.query(`insert into "${places}".places (name) values ($1)`, ["Half written"]);
					await tx.query(`insert into "${places}".places (name) values ($1)`, ["Half written"]);
				}),
			).rejects.toBeDefined();
			expect(await broker.call(`${places}.count`, {})).toBe(before);
		});
	});
}

describe("embedded", () => {
	const dataDir = prepareDataDir();
	afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));
	mixinsContract("PGlite", () => ({ DATA_DIR: dataDir }));
});

describeWithBackend("postgres", "PostgreSQL", pg => {
	mixinsContract("PostgreSQL", () => ({ DATABASE_URL: pg.url }));
});

describe("readiness during start-up", () => {
	it("is not ready until the whole start is done, consumers subscribed included, nor once stopping", async () => {
		let release!: () => void;
		const subscribing = new Promise<void>(resolve => (release = resolve));
		// Stands for the channels middleware, which connects and subscribes in its own `started` hook.
		const slowMiddleware = { name: "SlowSubscriptions", started: () => subscribing };
		const broker = new ServiceBroker({ logger: false, skipProcessEventRegistration: true, middlewares: [slowMiddleware] });
		const backends = attachNodeBackends(broker, loadConfig({ NODE_ENV: "test", DATA_DIR: prepareDataDir() }), { channels: false });
		const starting = broker.start();
		await new Promise(resolve => setTimeout(resolve, 50));
		// Moleculer has set `started` and sent $broker.started by now; the middleware is still at work.
		expect(broker.started).toBe(true);
		expect((await backends.health()).backends.broker).toMatchObject({ status: "down", error: "still starting" });
		let relaysMayStart = false;
		void backends.started.then(() => (relaysMayStart = true));
		await new Promise(resolve => setTimeout(resolve, 10));
		expect(relaysMayStart).toBe(false);
		release();
		await starting;
		expect((await backends.health()).backends.broker.status).toBe("up");
		expect(relaysMayStart).toBe(true);
		await broker.stop();
		expect((await backends.health()).backends.broker).toMatchObject({ status: "down", error: "not started, or stopping" });
	});
});
