import fs from "node:fs";
import { randomUUID } from "node:crypto";
import { ServiceBroker } from "moleculer";
import { describeWithBackend } from "../../test/support/backends";
import { openTestPGlite, openTestPostgres, uniqueSchema, dropSchemas } from "../../test/support/sql";
import { acquireDatabase } from "../sql";
import { channelsContract } from "./channels.contract";
import { createChannelAdapter, DEAD_LETTER_CHANNEL } from "./index";
import { ChannelsMiddleware, ChannelsBroker } from "./moleculer-channels";
import { SqlChannelAdapter } from "./sql-channel-adapter";

const fastSql = { retryBackoffMs: 10, pollIntervalMs: 50, maxInFlight: 10, maxRetries: 3, deadLettering: { enabled: true, queueName: DEAD_LETTER_CHANNEL } };

describe("SQL channel adapter on embedded PGlite", () => {
	let dataDir: string;
	beforeAll(async () => {
		// A copied, pre-initialised folder; the adapter opens it itself through acquireDatabase.
		const db = await openTestPGlite();
		dataDir = db.dataDir;
		await db.client.close();
	});
	afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

	channelsContract("sql on PGlite", () => ({
		adapter: () => new SqlChannelAdapter({ ...fastSql, database: { dataDir } }),
		burst: 10_000,
		deadLettering: true,
		timeoutMs: 120_000,
	}));

	function node(namespace: string, nodeID: string, extra: Partial<ConstructorParameters<typeof SqlChannelAdapter>[0]> = {}) {
		const adapter = new SqlChannelAdapter({ ...fastSql, database: { dataDir }, ...extra });
		const broker = new ServiceBroker({ namespace, nodeID, logger: false, skipProcessEventRegistration: true, middlewares: [ChannelsMiddleware({ adapter, context: true })] }) as ChannelsBroker;
		return { broker, adapter };
	}

	it("keeps accepted messages across a restart of the process's database", async () => {
		const namespace = `restart${randomUUID().slice(0, 6)}`;
		const first = node(namespace, "first");
		first.broker.createService({ name: "audit", channels: { "login.failed": { group: "audit", handler: () => undefined } } } as never);
		await first.broker.start();
		await first.broker.destroyService(first.broker.getLocalService("audit")!);
		await Promise.all(Array.from({ length: 500 }, (_, n) => first.broker.sendToChannel("login.failed", { n })));
		// Stopping the last user closes the PGlite instance: what follows reads the folder again.
		await first.broker.stop();

		const second = node(namespace, "second");
		const seen = new Set<number>();
		second.broker.createService({ name: "audit", channels: { "login.failed": { group: "audit", handler: (ctx: { params: { n: number } }) => void seen.add(ctx.params.n) } } } as never);
		await second.broker.start();
		const deadline = Date.now() + 20_000;
		while (seen.size < 500 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50));
		await second.broker.stop();
		expect(seen.size).toBe(500);
	});

	it("redelivers a message whose consumer died holding it, once the lease runs out", async () => {
		const namespace = `lease${randomUUID().slice(0, 6)}`;
		const crashed = node(namespace, "crashed", { leaseMs: 300 });
		let release!: () => void;
		const hang = new Promise<void>(resolve => (release = resolve));
		crashed.broker.createService({ name: "scores", channels: { "answer.given": { group: "scores", handler: () => hang } } } as never);
		await crashed.broker.start();
		await crashed.broker.sendToChannel("answer.given", { n: 1 });
		await new Promise(resolve => setTimeout(resolve, 200));
		// Simulate the process dying: its consumer stops polling and renewing, the claim still held.
		crashed.adapter["subscriptions"].forEach(sub => (sub.stopped = true));
		crashed.adapter["renewals"].forEach(timer => clearInterval(timer));

		const survivor = node(namespace, "survivor", { leaseMs: 300 });
		const seen: Array<{ n: number; attempts: number }> = [];
		survivor.broker.createService({ name: "scores", channels: { "answer.given": { group: "scores", handler: (ctx: { params: { n: number } }, raw: { attempts: number }) => void seen.push({ n: ctx.params.n, attempts: raw.attempts }) } } } as never);
		await survivor.broker.start();
		const deadline = Date.now() + 5000;
		while (!seen.length && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 25));
		release();
		await Promise.all([survivor.broker.stop(), crashed.broker.stop()]);
		expect(seen).toEqual([{ n: 1, attempts: 2 }]);
	});

	it("tells the dead-letter consumer where a message came from and why it failed", async () => {
		const namespace = `dlq${randomUUID().slice(0, 6)}`;
		const { broker } = node(namespace, "dlq");
		const deadLetters: Array<Record<string, string>> = [];
		broker.createService({ name: "payments", channels: { "reward.claimed": { group: "payments", maxRetries: 1, handler: () => { throw new Error("provider down"); } } } } as never);
		broker.createService({ name: "operators", channels: { [DEAD_LETTER_CHANNEL]: { group: "operators", handler: (_ctx: unknown, raw: { headers: Record<string, string> }) => void deadLetters.push(raw.headers) } } } as never);
		await broker.start();
		await broker.sendToChannel("reward.claimed", { rewardId: "r2" });
		const deadline = Date.now() + 5000;
		while (!deadLetters.length && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 25));
		await broker.stop();
		expect(deadLetters[0]).toEqual(expect.objectContaining({ "x-original-channel": `${namespace}.reward.claimed`, "x-original-group": "payments", "x-error-message": "provider down", "x-attempts": "2" }));
	});

	it("does not hand a slow handler's message to another consumer while the lease is renewed", async () => {
		const namespace = `slow${randomUUID().slice(0, 6)}`;
		const handledBy: string[] = [];
		const consumerNode = (id: string) => {
			const created = node(namespace, id, { leaseMs: 150 });
			created.broker.createService({
				name: "scores",
				channels: {
					"answer.given": {
						group: "scores",
						handler: async () => {
							handledBy.push(id);
							await new Promise(resolve => setTimeout(resolve, 700));
						},
					},
				},
			} as never);
			return created;
		};
		const first = consumerNode("first");
		await first.broker.start();
		await first.broker.sendToChannel("answer.given", { n: 1 });
		while (!handledBy.length) await new Promise(resolve => setTimeout(resolve, 10));
		const second = consumerNode("second");
		await second.broker.start();
		await new Promise(resolve => setTimeout(resolve, 900));
		await Promise.all([first.broker.stop(), second.broker.stop()]);
		expect(handledBy).toEqual(["first"]);
	});

	it("starts a new group with the retained messages and garbage-collects consumed ones", async () => {
		const namespace = `gc${randomUUID().slice(0, 6)}`;
		const producer = node(namespace, "producer", { retentionMs: 60_000 });
		await producer.broker.start();
		for (let n = 0; n < 3; n++) await producer.broker.sendToChannel("hunt.archived", { n });

		const late = node(namespace, "late", { retentionMs: 60_000 });
		const seen: number[] = [];
		late.broker.createService({ name: "analytics", channels: { "hunt.archived": { group: "analytics", handler: (ctx: { params: { n: number } }) => void seen.push(ctx.params.n) } } } as never);
		await late.broker.start();
		const deadline = Date.now() + 5000;
		while (seen.length < 3 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 25));
		expect(seen.sort()).toEqual([0, 1, 2]);
		expect(await late.adapter.backlog(`${namespace}.hunt.archived`)).toEqual({});

		// Nothing is old enough yet; with a zero retention every consumed message goes.
		expect(await producer.adapter.collectGarbage()).toBe(0);
		producer.adapter.opts.retentionMs = 0;
		expect(await producer.adapter.collectGarbage()).toBeGreaterThanOrEqual(3);
		await Promise.all([late.broker.stop(), producer.broker.stop()]);
	});
});

describeWithBackend("postgres", "SQL channel adapter on PostgreSQL", pg => {
	const schema = uniqueSchema("channels");
	afterAll(async () => {
		const client = openTestPostgres(pg.url);
		await dropSchemas(client, [schema]);
		await client.close();
	});
	channelsContract("sql on PostgreSQL", () => ({
		adapter: () => new SqlChannelAdapter({ ...fastSql, database: { url: pg.url, poolSize: 5 }, schema }),
		burst: 10_000,
		deadLettering: true,
		timeoutMs: 120_000,
	}));

	it("shares one pool per URL across adapters in a process", async () => {
		const a = await acquireDatabase({ url: pg.url });
		const b = await acquireDatabase({ url: pg.url });
		expect(a.client).toBe(b.client);
		await a.release();
		await b.release();
	});
});

describeWithBackend("redis", "Redis Streams channel adapter", redis => {
	channelsContract("redis streams", () => ({
		adapter: () => {
			const definition = createChannelAdapter({ url: redis.url, database: {}, namespace: "unused" }) as { options: Record<string, unknown> };
			// Fast claims so a restarted consumer picks up its pending messages within the test.
			return { type: "Redis", options: { ...definition.options, prefix: undefined, claimInterval: 50, minIdleTime: 200 } };
		},
		burst: 2000,
		// Its retries come from XAUTOCLAIM of idle pending entries; not reliably observable in a test's time.
		deadLettering: false,
		timeoutMs: 60_000,
	}));
});

describeWithBackend("nats", "NATS JetStream channel adapter", nats => {
	channelsContract("nats jetstream", () => ({
		adapter: () => {
			const definition = createChannelAdapter({ url: nats.url, database: {}, namespace: "unused" }) as { options: Record<string, unknown> };
			return { type: "NATS", options: { ...definition.options, prefix: undefined } };
		},
		burst: 10_000,
		deadLettering: true,
		timeoutMs: 120_000,
	}));
});

describeWithBackend("kafka", "Kafka channel adapter", kafka => {
	channelsContract("kafka", () => ({
		adapter: () => {
			const definition = createChannelAdapter({ url: kafka.url.startsWith("kafka://") ? kafka.url : `kafka://${kafka.url}`, database: {}, namespace: "unused" }) as { options: Record<string, unknown> };
			return { type: "Kafka", options: { ...definition.options, prefix: undefined } };
		},
		burst: 2000,
		deadLettering: false,
		timeoutMs: 120_000,
	}));
});
