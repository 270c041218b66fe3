import fs from "node:fs";
import { randomUUID } from "node:crypto";
import Redis from "ioredis";
import { ServiceBroker, type Context, type ServiceSchema } from "moleculer";
import { describeWithBackend } from "../../test/support/backends";
import { deleteKafkaTopics } from "../../test/support/kafka";
import { deleteNatsStreams } from "../../test/support/nats";
import { dropSchemas, openTestPGlite, openTestPostgres, uniqueSchema } from "../../test/support/sql";
import { acquireDatabase, type DatabaseLease } from "../sql";
import { channelsContract, TestBrokers } from "./channels.contract";
import { channelAdapterOf, channelsHealth, createChannelAdapter, createChannelsMiddleware, sendToChannel, SqlChannelAdapter, type ChannelsOptions, type SqlChannelMessage } from "./index";

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));
const shortId = () => randomUUID().replace(/-/g, "").slice(0, 10);
/** Per run: every channel name starts with it, so cleanup removes exactly this run's streams and keys. */
const runNamespace = (backend: string) => `lt${backend}${shortId()}`;

async function waitFor(done: () => boolean | Promise<boolean>, timeoutMs: number, describe: () => string): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await done())) {
		if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms: ${describe()}`);
		await sleep(20);
	}
}

/** A fresh copy of the pre-initialised PGlite folder; the adapter opens it itself through acquireDatabase. */
async function freshPGliteDir(): Promise<string> {
	const db = await openTestPGlite();
	// A folder may be open once per process: hand it over closed.
	await db.client.close();
	return db.dataDir;
}

/** Test-time timings for the embedded adapter: quick retries and polls. */
const FAST_SQL = { retryDelayMs: 20, pollIntervalMs: 50 };

describe("embedded SQL channels on PGlite", () => {
	let dataDir: string;
	const namespace = runNamespace("pglite");
	beforeAll(async () => {
		dataDir = await freshPGliteDir();
	});
	afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

	channelsContract(
		"embedded SQL (PGlite)",
		() => ({
			channels: { url: "embedded://", database: { dataDir }, adapterOptions: FAST_SQL },
			namespace,
			burstSize: 10_000,
		}),
		{ notApplicable: "a PGlite folder belongs to one process; the lease test below kills a holder in-process" },
	);
});

describeWithBackend("postgres", "embedded SQL channels on PostgreSQL", status => {
	const schema = uniqueSchema("channels_test");
	const namespace = runNamespace("pg");
	afterAll(async () => {
		const admin = openTestPostgres(status.url);
		try {
			await dropSchemas(admin, [schema]);
		} finally {
			await admin.close();
		}
	});

	channelsContract(
		"embedded SQL (PostgreSQL)",
		() => ({
			channels: { url: "embedded://", database: { url: status.url, poolSize: 10 }, schema, adapterOptions: FAST_SQL },
			namespace,
			burstSize: 10_000,
		}),
		{ adapterOptions: { leaseMs: 1500 } },
	);

	it("reaches a consumer on another node, which has only its polling to learn of new messages", async () => {
		// A different URL means another pool and another wake-up key: as far as the adapter can tell,
		// another process. Only the poll (every 50 ms here) can bring it the message.
		const otherNode = `${status.url}${status.url.includes("?") ? "&" : "?"}application_name=lootopia-other-node`;
		const make = (url: string, role: string, services: ServiceSchema[] = []) => {
			const broker = new ServiceBroker({
				nodeID: `${role}-${shortId()}`,
				namespace,
				transporter: null,
				logger: false,
				registry: { stopDelay: 0 },
				middlewares: [createChannelsMiddleware({ url: "embedded://", database: { url, poolSize: 2 }, schema, adapterOptions: FAST_SQL })],
			});
			for (const service of services) broker.createService(service);
			return broker;
		};
		const channel = `remote-${shortId()}`;
		const received: string[] = [];
		const consumer = make(otherNode, "remote", [
			{ name: "remote", channels: { [channel]: { group: `remote-${shortId()}`, handler: (ctx: Context<{ id: string }>) => void received.push(ctx.params.id) } } },
		]);
		const publisher = make(status.url, "publisher");
		try {
			await consumer.start();
			await publisher.start();
			await sendToChannel(publisher, channel, { id: "across" });
			await waitFor(
				() => received.length >= 1,
				5_000,
				() => "the other node never received it",
			);
			await sleep(300);
			expect(received).toEqual(["across"]);
		} finally {
			await publisher.stop();
			await consumer.stop();
		}
	});
});

describeWithBackend("redis", "Redis Streams channels", status => {
	const namespace = runNamespace("redis");
	afterAll(async () => {
		const admin = new Redis(status.url, { lazyConnect: true });
		try {
			await admin.connect();
			const keys: string[] = [];
			for await (const batch of admin.scanStream({ match: `${namespace}.*`, count: 500 })) keys.push(...(batch as string[]));
			if (keys.length) await admin.del(...keys);
		} finally {
			admin.disconnect();
		}
	});

	channelsContract(
		"Redis Streams",
		() => ({
			channels: { url: status.url, database: {} },
			namespace,
			// Measured here: 10,000 concurrent sends accepted at ~35,000/s, delivered at ~6,000/s end to end,
			// so Redis gets the full burst too.
			burstSize: 10_000,
			// A failed message stays pending until another claim; the library waits an hour by default.
			failingChannelOptions: { redis: { minIdleTime: 50, claimInterval: 20, processingAttemptsInterval: 50 } },
			exactDeliveryCount: false,
		}),
		{ channelOptions: { redis: { minIdleTime: 1500, claimInterval: 100 } } },
	);
});

describeWithBackend("nats", "NATS JetStream channels", status => {
	const namespace = runNamespace("nats");
	afterAll(() => deleteNatsStreams(status.url, namespace));

	channelsContract(
		"NATS JetStream",
		() => ({
			channels: { url: status.url, database: {} },
			namespace,
			burstSize: 10_000,
		}),
		{ channelOptions: { nats: { consumerOptions: { config: { ack_wait: 1_500_000_000 } } } } },
	);
});

describeWithBackend("kafka", "Kafka channels", status => {
	const namespace = runNamespace("kafka");
	afterAll(() => deleteKafkaTopics(status.url, namespace));

	channelsContract(
		"Kafka",
		() => ({
			channels: { url: status.url, database: {} },
			namespace,
			burstSize: 10_000,
			deliveryTimeoutMs: 60_000,
		}),
		{ channelOptions: { kafka: { sessionTimeout: 6_000, heartbeatInterval: 1_000 } } },
	);
});

describe("createChannelAdapter", () => {
	it("maps each CHANNELS_URL scheme to its adapter", () => {
		const database = { dataDir: "/nonexistent" };
		const kinds = ["embedded://", "redis://r:6379", "rediss://r:6380", "nats://n1:4222", "kafka://k1:9092,k2:9092"].map(url => {
			const adapter = createChannelAdapter({ url, database }) as { constructor: { name: string } };
			return adapter.constructor.name;
		});
		expect(kinds).toEqual(["SqlChannelAdapter", "RedisChannelAdapter", "RedisChannelAdapter", "NatsChannelAdapter", "KafkaChannelAdapter"]);
	});

	it("gives Kafka every broker of the URL and NATS every server", () => {
		const kafka = createChannelAdapter({ url: "kafka://k1:9092,k2:9093", database: {} }) as unknown as { opts: { kafka: { brokers: string[] } } };
		expect(kafka.opts.kafka.brokers).toEqual(["k1:9092", "k2:9093"]);
		const nats = createChannelAdapter({ url: "nats://app:s3cret@n1:4222,n2:4223", database: {} }) as unknown as { opts: { nats: { connectionOptions: Record<string, unknown> } } };
		expect(nats.opts.nats.connectionOptions).toEqual({ servers: ["n1:4222", "n2:4223"], user: "app", pass: "s3cret" });
	});

	it("makes a send while the adapter stops fail instead of resolving without sending (the library's adapters drop it)", async () => {
		for (const url of ["redis://r:6379", "nats://n1:4222", "kafka://k1:9092"]) {
			const adapter = createChannelAdapter({ url, database: {} }) as unknown as { stopping: boolean; connected: boolean; publish(channel: string, payload: unknown): Promise<void> };
			adapter.connected = true;
			adapter.stopping = true;
			await expect(adapter.publish("lootopia.claims", { id: "c1" })).rejects.toThrow("the message to 'lootopia.claims' was not sent");
		}
	});

	it("refuses an unknown scheme", () => {
		expect(() => createChannelAdapter({ url: "amqp://mq:5672", database: {} })).toThrow(/unsupported scheme/);
	});
});

/** Behaviour only the embedded adapter has: its storage, leases, retention, groups that come later. */
describe("embedded SQL channels: durability and housekeeping (PGlite)", () => {
	let dataDir: string;
	const brokers = new TestBrokers();
	const namespace = runNamespace("sql");
	const schema = "channels";

	beforeAll(async () => {
		dataDir = await freshPGliteDir();
	});
	afterEach(() => brokers.stopAll());
	afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

	function options(adapterOptions: Record<string, unknown> = {}): ChannelsOptions {
		return { url: "embedded://", database: { dataDir }, schema, adapterOptions: { ...FAST_SQL, ...adapterOptions } };
	}

	const startBroker = (role: string, services: ServiceSchema[] = [], adapterOptions: Record<string, unknown> = {}) => brokers.start(role, namespace, options(adapterOptions), services);
	const stopBroker = (broker: ServiceBroker) => brokers.stop(broker);

	function recorder(name: string, channel: string, group: string, received: Array<{ id: string; attempts: number }>, extra: Record<string, unknown> = {}): ServiceSchema {
		return {
			name,
			channels: {
				[channel]: {
					group,
					...extra,
					handler(ctx: Context<{ id: string }>, raw: unknown) {
						received.push({ id: ctx.params.id, attempts: (raw as SqlChannelMessage).attempts });
					},
				},
			},
		};
	}

	/** The test's own view of the database; shares the engine with the brokers in this process. */
	async function withDatabase<T>(work: (lease: DatabaseLease) => Promise<T>): Promise<T> {
		const lease = await acquireDatabase({ dataDir });
		try {
			return await work(lease);
		} finally {
			await lease.release();
		}
	}

	const ids = (count: number, prefix: string) => Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(3, "0")}`);

	it("keeps accepted messages across a restart of the process's database", async () => {
		const channel = `claims-${shortId()}`;
		const group = `claims-${shortId()}`;
		const first = await startBroker("consumer", [recorder("claims", channel, group, [])]);
		await stopBroker(first);

		const publisher = await startBroker("publisher");
		const sent = ids(100, "c");
		await Promise.all(sent.map(id => sendToChannel(publisher, channel, { id })));
		// The last broker on the folder stops: the adapter releases its lease and PGlite closes.
		const adapter = channelAdapterOf(publisher)!;
		await stopBroker(publisher);
		expect(adapter.connected).toBe(false);
		// Nothing else in this test holds the database open, so the next broker really reopens the folder.

		const received: Array<{ id: string; attempts: number }> = [];
		await startBroker("consumer", [recorder("claims", channel, group, received)]);
		await waitFor(
			() => received.length >= 100,
			20_000,
			() => `${received.length}/100 after reopening`,
		);
		await sleep(300);
		expect(received.map(r => r.id).sort()).toEqual(sent);
	});

	it("redelivers a message whose consumer died holding it, once the lease expires", async () => {
		const channel = `finds-${shortId()}`;
		const group = `finds-${shortId()}`;
		const first = await startBroker("consumer", [recorder("finds", channel, group, [])]);
		await stopBroker(first);
		const publisher = await startBroker("publisher");
		await sendToChannel(publisher, channel, { id: "orphan" });

		// A consumer on another node claims it (as the adapter's claim does) and then dies: nobody acks.
		const leaseMs = 1500;
		await withDatabase(async ({ client }) => {
			const claimed = await client.query(
				`update "${schema}".deliveries set attempts = attempts + 1, available_at = now() + $3 * interval '1 millisecond'
				where channel = $1 and grp = $2 returning message_id`,
				[`${namespace}.${channel}`, group, leaseMs],
			);
			expect(claimed.rowCount).toBe(1);
		});
		const claimedAt = Date.now();

		const received: Array<{ id: string; attempts: number }> = [];
		await startBroker("consumer", [recorder("finds", channel, group, received)]);
		await sleep(leaseMs - 500);
		expect(received).toEqual([]);
		await waitFor(
			() => received.length >= 1,
			5_000,
			() => "not redelivered after the lease expired",
		);
		expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(leaseMs - 100);
		// Second delivery: the dead consumer's claim counted as the first.
		expect(received).toEqual([{ id: "orphan", attempts: 2 }]);
	});

	it("renews the lease of a handler that runs longer than it, so nobody else gets the message", async () => {
		const channel = `slow-${shortId()}`;
		const group = `slow-${shortId()}`;
		const handled: string[] = [];
		const slow = (): ServiceSchema => ({
			name: "slow",
			channels: {
				[channel]: {
					group,
					async handler(ctx: Context<{ id: string }>) {
						handled.push(ctx.params.id);
						await sleep(1500);
					},
				},
			},
		});
		const first = await startBroker("slow-a", [slow()], { leaseMs: 300 });
		await startBroker("slow-b", [slow()], { leaseMs: 300 });
		await sendToChannel(first, channel, { id: "long-task" });
		await waitFor(
			() => handled.length >= 1,
			5_000,
			() => "never handled",
		);
		await sleep(2500);
		expect(handled).toEqual(["long-task"]);
	});

	it("deletes messages every group has acknowledged once past the retention, and keeps the others", async () => {
		const consumed = `gc-done-${shortId()}`;
		const waiting = `gc-wait-${shortId()}`;
		const idleGroup = `idle-${shortId()}`;
		// A group registered on `waiting`, whose consumers then go away: its messages must stay.
		const idle = await startBroker("idle", [recorder("idle", waiting, idleGroup, [])]);
		await stopBroker(idle);

		const received: Array<{ id: string; attempts: number }> = [];
		const broker = await startBroker("consumer", [recorder("done", consumed, `done-${shortId()}`, received)], { retentionMs: 200, gcIntervalMs: 100 });
		await Promise.all([...ids(10, "d").map(id => sendToChannel(broker, consumed, { id })), ...ids(10, "w").map(id => sendToChannel(broker, waiting, { id }))]);
		await waitFor(
			() => received.length >= 10,
			10_000,
			() => `${received.length}/10 consumed`,
		);

		const countOf = (channel: string) =>
			withDatabase(async ({ client }) => (await client.query<{ n: number }>(`select count(*)::int as n from "${schema}".messages where channel = $1`, [`${namespace}.${channel}`])).rows[0].n);
		expect(await countOf(waiting)).toBe(10);
		await waitFor(
			async () => (await countOf(consumed)) === 0,
			5_000,
			() => "acknowledged messages were not collected",
		);
		// Past the retention and collected several times over, but a group still needs them.
		expect(await countOf(waiting)).toBe(10);

		// Once an operator retires that group, they go too.
		const adapter = channelAdapterOf(broker) as SqlChannelAdapter;
		expect(await adapter.dropGroup(waiting, idleGroup)).toBe(10);
		await waitFor(
			async () => (await countOf(waiting)) === 0,
			5_000,
			() => "messages of a dropped group were not collected",
		);
	});

	it("drops a message after its retries when dead-lettering is off", async () => {
		const channel = `noisy-${shortId()}`;
		const group = `noisy-${shortId()}`;
		let calls = 0;
		const consumer = await startBroker("consumer", [
			{
				name: "noisy",
				channels: {
					[channel]: {
						group,
						maxRetries: 2,
						deadLettering: { enabled: false },
						handler() {
							calls++;
							throw new Error("always fails");
						},
					},
				},
			},
		]);
		const logged = jest.spyOn(channelAdapterOf(consumer)!.logger, "error").mockImplementation(() => undefined);
		await sendToChannel(consumer, channel, { id: "x" });
		const pending = () =>
			withDatabase(
				async ({ client }) =>
					(await client.query<{ n: number }>(`select count(*)::int as n from "${schema}".deliveries where channel = $1 and grp = $2`, [`${namespace}.${channel}`, group])).rows[0].n,
			);
		await waitFor(
			async () => calls >= 2 && (await pending()) === 0,
			5_000,
			() => `handler ran ${calls} time(s)`,
		);
		await sleep(300);
		expect(calls).toBe(2);
		// Dropping is never silent.
		expect(logged.mock.calls.map(args => String(args[0]))).toEqual([expect.stringContaining("dropped message")]);
	});

	it("reports its health through channelsHealth", async () => {
		const broker = await startBroker("health");
		expect(await channelsHealth(broker)).toEqual({ connected: true });
		await stopBroker(broker);
		expect(await channelsHealth(broker)).toEqual({ connected: false, reason: "adapter not connected" });
	});
});
