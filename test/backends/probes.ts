/**
 * "Ready" means the server answered a real query, through the client our code uses (Redis: PING on a
 * plain socket), not that a port accepted a connection: a JVM opens its port seconds before it can serve, and Postgres accepts
 * connections while it still refuses logins. `npm run backends -- up` waits on these and the jest
 * global setup decides with them which suites can run.
 */
import net from "node:net";

export type BackendName = "postgres" | "redis" | "nats" | "kafka" | "neo4j" | "opensearch";

export const BACKEND_NAMES: readonly BackendName[] = ["postgres", "redis", "nats", "kafka", "neo4j", "opensearch"];

/** The URLs the tests use unless TEST_<NAME>_URL says otherwise; `up` starts servers that answer there. */
export const TEST_BACKEND_URLS: Record<BackendName, string> = {
	postgres: process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
	redis: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
	nats: process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222",
	kafka: process.env.TEST_KAFKA_URL ?? "kafka://127.0.0.1:9092",
	neo4j: process.env.TEST_NEO4J_URL ?? "bolt://127.0.0.1:7687",
	opensearch: process.env.TEST_OPENSEARCH_URL ?? "http://127.0.0.1:9200",
};

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const expired = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
	});
	return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

function describeError(err: unknown): string {
	if (err instanceof AggregateError && err.errors.length) return describeError(err.errors[0]);
	const e = err as { code?: string; message?: string };
	return [e.code, e.message].filter(Boolean).join(" ") || String(err);
}

/**
 * Each probe hands `release` whatever it opened, so a probe cut short by the timeout still closes its
 * connection (a client stuck on a silent server would otherwise keep the process alive).
 */
type Probe = (url: string, release: (close: () => unknown) => void) => Promise<void>;

const probes: Record<BackendName, Probe> = {
	async postgres(url, release) {
		const { Client } = await import("pg");
		const client = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
		release(() => client.end());
		try {
			await client.connect();
			await client.query("select 1");
		} finally {
			await client.end().catch(() => undefined);
		}
	},
	async redis(url, release) {
		// PING over a plain socket: ioredis keeps its connect timer alive after disconnect(), which
		// holds a test worker open for seconds after probing an absent server.
		const { hostname, port, password, username } = new URL(url);
		const socket = net.connect({ host: hostname, port: Number(port) || 6379 });
		release(() => socket.destroy());
		try {
			const answer = await new Promise<string>((resolve, reject) => {
				let received = "";
				socket.once("error", reject);
				socket.once("close", () => reject(new Error(`connection closed after ${JSON.stringify(received)}`)));
				socket.on("data", chunk => {
					received += chunk.toString("utf8");
					if (received.endsWith("\r\n") && (!password || received.split("\r\n").length > 2)) resolve(received.trim().split("\r\n").pop()!);
				});
				socket.once("connect", () => {
					const auth = password ? `AUTH ${decodeURIComponent(username || "default")} ${decodeURIComponent(password)}\r\n` : "";
					socket.write(`${auth}PING\r\n`);
				});
			});
			if (answer !== "+PONG") throw new Error(`PING answered ${answer}`);
		} finally {
			socket.destroy();
		}
	},
	async nats(url, release) {
		const { connect } = await import("nats");
		const connection = await connect({ servers: url.replace(/^nats:\/\//, "").split(","), timeout: 2_000, reconnect: false });
		release(() => connection.close());
		try {
			// Fails with "JetStream not enabled" on a server started without -js.
			await (await connection.jetstreamManager()).getAccountInfo();
		} finally {
			await connection.close();
		}
	},
	async kafka(url, release) {
		const { Kafka, logLevel } = await import("kafkajs");
		const brokers = url.replace(/^kafka:\/\//, "").split(",");
		const admin = new Kafka({ clientId: "lootopia-probe", brokers, logLevel: logLevel.NOTHING, connectionTimeout: 2_000, requestTimeout: 3_000, retry: { retries: 0 } }).admin();
		release(() => admin.disconnect());
		try {
			await admin.connect();
			const cluster = await admin.describeCluster();
			if (cluster.controller === null || cluster.controller < 0) throw new Error("no active controller yet");
			await admin.listTopics();
		} finally {
			await admin.disconnect().catch(() => undefined);
		}
	},
	async neo4j(url, release) {
		const { default: neo4j } = await import("neo4j-driver");
		const driver = neo4j.driver(url, undefined, { connectionTimeout: 2_000, maxConnectionPoolSize: 1, logging: { level: "error", logger: () => undefined } });
		release(() => driver.close());
		// session.run, not executeQuery: the latter retries with backoff while the server starts.
		const session = driver.session();
		try {
			const result = await session.run("RETURN 1 AS one");
			if (result.records[0]?.get("one")?.toNumber?.() !== 1) throw new Error("RETURN 1 gave another answer");
		} finally {
			await session.close();
			await driver.close();
		}
	},
	async opensearch(url, release) {
		const { Client } = await import("@opensearch-project/opensearch");
		const client = new Client({ node: url, requestTimeout: 2_500, maxRetries: 0 });
		release(() => client.close());
		try {
			const health = await client.cluster.health({ wait_for_status: "yellow", timeout: "2s" });
			if (health.body.status === "red" || health.body.timed_out) throw new Error(`cluster health ${health.body.status}`);
		} finally {
			await client.close();
		}
	},
};

/** Undefined when the backend at `url` answered a query; otherwise why not, in a few words. */
export async function probeBackend(name: BackendName, url: string, timeoutMs = 5_000): Promise<string | undefined> {
	const opened: Array<() => unknown> = [];
	let settled = false;
	try {
		const probe = probes[name](url, close => opened.push(close)).finally(() => (settled = true));
		await withTimeout(probe, timeoutMs, `${name} at ${url}`);
		return undefined;
	} catch (err) {
		// A probe that settled closed its own client; one cut short by the timeout has not.
		if (!settled)
			for (const close of opened)
				void Promise.resolve()
					.then(close)
					.catch(() => undefined);
		return `is not answering at ${url} (${describeError(err)})`;
	}
}
