/**
 * How a service gets its data, through a broker built like production (node backends attached):
 * ServiceDatabase (a migrated schema and a SqlClient), with the backends handed to it explicitly.
 */
import fs from "node:fs";
import { randomUUID } from "node:crypto";
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../platform/config/env";
import { attachNodeBackends, nodeBackends } from "../../platform/runtime/node-backends";
import { ServiceDatabase } from "../../mixins/database.mixin";
import { describeWithBackend } from "../support/backends";
import { prepareDataDir } from "../support/node";

function mixinsContract(engine: string, env: () => Record<string, string>) {
	describe(`service data mixins on ${engine}`, () => {
		let broker: ServiceBroker;
		let database: ServiceDatabase;
		const suffix = randomUUID().replace(/-/g, "").slice(0, 8);
		const counters = `counters_${suffix}`;

		beforeAll(async () => {
			broker = new ServiceBroker({ logger: false, skipProcessEventRegistration: true });
			const backends = attachNodeBackends(broker, loadConfig({ NODE_ENV: "test", ...env() }), { channels: false });
			database = new ServiceDatabase(backends, counters, [{ version: 1, name: "counters", up: "create table counters (name text primary key, value int not null)" }]);
			broker.createService({
				name: counters,
				mixins: [database.mixin()],
				actions: {
					bump() {
						return database.db
							.query<{ value: number }>(`insert into ${database.table("counters")} values ('visits', 1) on conflict (name) do update set value = counters.value + 1 returning value`)
							.then(result => result.rows[0].value);
					},
				},
			});
			await broker.start();
		});

		afterAll(async () => {
			const db = await nodeBackends(broker).database(counters);
			await db.query(`drop schema if exists "${counters}" cascade`);
			await broker.stop();
			// moleculer.config closes them in the broker's `stopped` hook; this bare broker has none.
			await nodeBackends(broker).close();
		});

		it("gives a plain service a migrated schema and a client", async () => {
			expect(await broker.call(`${counters}.bump`)).toBe(1);
			expect(await broker.call(`${counters}.bump`)).toBe(2);
		});

		it("rolls back every write of a failed transaction on the service's client", async () => {
			const svc = (broker.getLocalService(counters) as unknown as { database: ServiceDatabase }).database;
			const count = async () => (await svc.db.query<{ n: number }>(`select count(*)::int as n from ${svc.table("counters")}`)).rows[0].n;
			const before = await count();
			await expect(
				svc.db.transaction(async tx => {
					await tx.query(`insert into ${svc.table("counters")} values ($1, 1)`, ["half-written"]);
					await tx.query(`insert into ${svc.table("counters")} values ($1, 1)`, ["half-written"]);
				}),
			).rejects.toBeDefined();
			expect(await count()).toBe(before);
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
