/**
 * Durable channels on each backend in one run: 10,000 messages sent at once by one node and consumed
 * by another broker, as a service would (createChannelsMiddleware, production defaults). Reports
 * sends/s (until every send resolved), delivered/s (until the last delivery), per-message latency
 * percentiles, and the ratio of each backend's delivered/s to the embedded SQL log's, the baseline
 * `npm start` uses. A backend that does not answer is reported as skipped (`npm run backends -- up`).
 */
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import { randomUUID } from "node:crypto";
import { ServiceBroker, type Context } from "moleculer";
import { createChannelsMiddleware, sendToChannel, type ChannelsOptions } from "../platform/channels";
import { openPostgres } from "../platform/sql/postgres-client";
import { probeBackend } from "../test/backends/probes";
import { deleteKafkaTopics } from "../test/support/kafka";

export interface ChannelBackendResult {
	backend: string;
	messages: number;
	sendsPerSecond: number;
	deliveredPerSecond: number;
	latencyP50Ms: number;
	latencyP99Ms: number;
	lost: number;
	duplicates: number;
	ratioToEmbedded?: number;
	skipped?: string;
}

const URLS = {
	postgres: process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
	redis: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
	nats: process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222",
	kafka: process.env.TEST_KAFKA_URL ?? "kafka://127.0.0.1:9092",
};

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number): number {
	if (!sorted.length) return NaN;
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function broker(role: string, namespace: string, channels: ChannelsOptions): ServiceBroker {
	return new ServiceBroker({
		nodeID: `${role}-${randomUUID().slice(0, 8)}`,
		namespace,
		transporter: null,
		logger: false,
		registry: { stopDelay: 0 },
		middlewares: [createChannelsMiddleware(channels)],
	});
}

async function runOne(backend: string, channels: ChannelsOptions, namespace: string, messages: number, timeoutMs: number): Promise<ChannelBackendResult> {
	const channel = "bench.positions";
	const sentAt = new Map<string, number>();
	const latencies: number[] = [];
	const received = new Set<string>();
	let duplicates = 0;
	const consumer = broker("consumer", namespace, channels);
	consumer.createService({
		name: "tracker",
		channels: {
			[channel]: {
				group: "tracker",
				maxInFlight: 100,
				handler(ctx: Context<{ id: string }>) {
					if (received.has(ctx.params.id)) duplicates++;
					received.add(ctx.params.id);
					latencies.push(performance.now() - (sentAt.get(ctx.params.id) ?? NaN));
				},
			},
		},
	} as never);
	const publisher = broker("publisher", namespace, channels);
	try {
		await consumer.start();
		await publisher.start();
		const ids = Array.from({ length: messages }, (_, i) => `p${i}`);
		const started = performance.now();
		await Promise.all(
			ids.map(id => {
				sentAt.set(id, performance.now());
				return sendToChannel(publisher, channel, { id, lat: 48.8566, lon: 2.3522, accuracy: 8 });
			}),
		);
		const sent = performance.now();
		while (received.size < messages && performance.now() - started < timeoutMs) await sleep(5);
		const delivered = performance.now();
		await sleep(500);
		const sorted = latencies.filter(Number.isFinite).sort((a, b) => a - b);
		return {
			backend,
			messages,
			sendsPerSecond: Math.round((messages * 1000) / (sent - started)),
			deliveredPerSecond: Math.round((received.size * 1000) / (delivered - started)),
			latencyP50Ms: Math.round(percentile(sorted, 50)),
			latencyP99Ms: Math.round(percentile(sorted, 99)),
			lost: messages - received.size,
			duplicates,
		};
	} finally {
		await publisher.stop().catch(() => undefined);
		await consumer.stop().catch(() => undefined);
	}
}

/** Removes what the run left on the shared servers: its streams, keys, topics and schema. */
async function cleanUp(backend: string, namespace: string, schema: string): Promise<void> {
	if (backend === "PostgreSQL") {
		const client = openPostgres(URLS.postgres, 1);
		await client.query(`drop schema if exists "${schema}" cascade`).finally(() => client.close());
	} else if (backend === "Redis Streams") {
		const { Redis } = await import("ioredis");
		const client = new Redis(URLS.redis);
		const keys = await client.keys(`${namespace}.*`);
		if (keys.length) await client.del(...keys);
		client.disconnect();
	} else if (backend === "NATS JetStream") {
		const { connect } = await import("nats");
		const nc = await connect({ servers: new URL(URLS.nats).host });
		const jsm = await nc.jetstreamManager();
		for await (const stream of jsm.streams.list()) if (stream.config.name.startsWith(`${namespace}_`)) await jsm.streams.delete(stream.config.name);
		await nc.close();
	} else if (backend === "Kafka") {
		await deleteKafkaTopics(URLS.kafka, namespace);
	}
}

/** Connects with the backend's own client first, so an absent server is a skip with a reason, not a hang. */
async function unreachable(backend: string): Promise<string | undefined> {
	const name = ({ PostgreSQL: "postgres", "Redis Streams": "redis", "NATS JetStream": "nats", Kafka: "kafka" } as const)[backend as "PostgreSQL"];
	return name ? probeBackend(name, URLS[name]) : undefined;
}

export async function benchChannels(opts: { messages?: number } = {}): Promise<ChannelBackendResult[]> {
	const messages = opts.messages ?? 10_000;
	const pgliteDir = fs.mkdtempSync(path.join(os.tmpdir(), "lootopia-bench-channels-"));
	const schema = `bench_channels_${randomUUID().replace(/-/g, "").slice(0, 10)}`;
	const backends: Array<[string, ChannelsOptions]> = [
		["embedded SQL (PGlite)", { url: "embedded://", database: { dataDir: pgliteDir } }],
		["PostgreSQL", { url: "embedded://", database: { url: URLS.postgres, poolSize: 10 }, schema }],
		["Redis Streams", { url: URLS.redis, database: {} }],
		["NATS JetStream", { url: URLS.nats, database: {} }],
		["Kafka", { url: URLS.kafka, database: {} }],
	];
	const results: ChannelBackendResult[] = [];
	try {
		for (const [backend, channels] of backends) {
			const reason = await unreachable(backend);
			if (reason) {
				results.push({ backend, messages, sendsPerSecond: NaN, deliveredPerSecond: NaN, latencyP50Ms: NaN, latencyP99Ms: NaN, lost: NaN, duplicates: NaN, skipped: reason });
				continue;
			}
			const namespace = `ltbench${randomUUID().replace(/-/g, "").slice(0, 8)}`;
			try {
				results.push(await runOne(backend, channels, namespace, messages, 180_000));
			} finally {
				await cleanUp(backend, namespace, schema).catch(() => undefined);
			}
		}
	} finally {
		fs.rmSync(pgliteDir, { recursive: true, force: true });
	}
	const baseline = results[0].deliveredPerSecond;
	for (const result of results) if (!result.skipped) result.ratioToEmbedded = Math.round((result.deliveredPerSecond / baseline) * 100) / 100;
	return results;
}
