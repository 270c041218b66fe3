/**
 * Live notifications at scale: a production gateway node (SERVICES=api, NODE_ENV=production, on
 * NATS with Redis as its store, as deployed) holding N live clients, half server-sent events (raw
 * HTTP requests without keep-alive) and half WebSocket, all from this process. Measured: the
 * server's resident memory (/proc) and heap (its Prometheus metrics) before and after, per
 * connection; then notifications at a steady rate and the time from each one's broadcast to its
 * arrival at its client (p50/p99), with lost and duplicated ones counted.
 *
 * The producer is a broker of this process on the same NATS namespace that broadcasts
 * `notification.created` exactly as the notifications service does (each user's numbers 1, 2, …).
 * Producer and clients share a clock, so each notification carries its send time in `data.t`.
 *
 * Meanwhile, the real path from a discovery: a second node runs every other service (as the
 * deployment's core node) on a scratch PostgreSQL database, channels on NATS JetStream, signing
 * tokens with the key ring whose public keys the gateway pins. PROBES players of a published hunt,
 * each with a live connection of their own (SSE and WebSocket in turn, opened before the memory
 * baseline), report a position on a clue through the gateway, spread over the load; timed: from
 * sending the report to their client receiving the `clue_discovered` notification that gameplay's
 * outbox, the notifications service's inbox and the gateway made of it.
 */
import http from "node:http";
import path from "node:path";
import fs from "node:fs";
import { randomUUID } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import { ServiceBroker } from "moleculer";
import { WebSocket } from "ws";
import { destination } from "../domain/hunts/geo";
import { readKeyRing } from "../platform/identity/key-store";
import { signAccessToken } from "../platform/identity/tokens";
import { probeBackend, TEST_BACKEND_URLS } from "../test/backends/probes";
import {
	BENCH_ADMIN,
	cleanUpNamespace,
	createScratchDatabase,
	createVerifiedPartner,
	freePort,
	json,
	publishHunt,
	residentMemoryMb,
	startGatewayNode,
	startProcess,
	stopProcess,
	tempDataDir,
	waitForHttp,
	waitForRoute,
	type ScratchDatabase,
} from "./support";

/** Every service but the gateway's, on the second node (the deployment's core node). */
const CORE_SERVICES = "system,auth,users,partners,audit,hunts,geo,gameplay,leaderboards,rewards,notifications,analytics";
/** Players whose discovery is timed to their live client, spread over the load. */
const PROBES = 30;
/** Where the probes' clue is. */
const START = { lat: 45.764, lon: 4.8357 };
/** How long a probe's notification may take before it counts as lost. */
const PROBE_TIMEOUT_MS = 30_000;

export interface LiveBenchResult {
	skipped?: string;
	clients?: number;
	sse?: number;
	ws?: number;
	connectSeconds?: number;
	rssMb?: { before: number; after: number; perConnectionKb: number };
	heapMb?: { before: number; after: number; perConnectionKb: number };
	delivery?: { rate: number; seconds: number; sent: number; received: number; lost: number; duplicates: number; p50Ms: number; p99Ms: number; maxMs: number };
	refused?: number;
	/** From sending a probe's position report (a discovery) to its client receiving the clue_discovered notification, during the load. */
	discoveryToNotification?: { probes: number; samples: number; lost: number; p50Ms: number; p99Ms: number; maxMs: number };
}

function percentile(sorted: number[], p: number): number {
	if (!sorted.length) return NaN;
	return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 100) / 100;
}

async function heapUsedMb(metricsUrl: string): Promise<number> {
	const text = await (await fetch(metricsUrl)).text();
	const line = text.split("\n").find(l => l.startsWith("process_memory_heap_size_used"));
	return line ? Math.round((Number(line.slice(line.lastIndexOf(" ") + 1)) / 2 ** 20) * 10) / 10 : NaN;
}

/** Resident memory once it stopped moving (within 2 MB over 3 s; at most 30 s). */
async function settledRssMb(pid: number): Promise<number> {
	const samples: number[] = [];
	for (let i = 0; i < 30; i++) {
		samples.push(residentMemoryMb(pid));
		if (samples.length >= 4 && Math.max(...samples.slice(-4)) - Math.min(...samples.slice(-4)) <= 2) break;
		await new Promise(resolve => setTimeout(resolve, 1_000));
	}
	return samples[samples.length - 1];
}

type Transport = "sse" | "ws";

/** A notification as a live client receives it. */
interface LiveNotification {
	id: number;
	kind: string;
	data: Record<string, unknown>;
}

/**
 * A live connection of the user `token` stands for, over server-sent events (a raw HTTP request
 * without keep-alive) or WebSocket, handing each notification it receives to `onNotification`.
 * Resolves once connected, with what closes it; undefined when the gateway refused it.
 */
function openLiveClient(base: string, token: string, transport: Transport, onNotification: (notification: LiveNotification) => void): Promise<(() => void) | undefined> {
	return new Promise(resolve => {
		if (transport === "sse") {
			const req = http.get(`${base}/api/notifications/stream`, { agent: false, headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" } }, res => {
				if (res.statusCode !== 200) {
					res.resume();
					return resolve(undefined);
				}
				res.setEncoding("utf8");
				let buffer = "";
				res.on("data", (chunk: string) => {
					buffer += chunk;
					let end: number;
					while ((end = buffer.indexOf("\n\n")) !== -1) {
						const block = buffer.slice(0, end);
						buffer = buffer.slice(end + 2);
						if (block.includes(": connected")) resolve(() => req.destroy());
						const data = block.split("\n").find(line => line.startsWith("data: "));
						if (data && block.includes("event: notification")) onNotification(JSON.parse(data.slice(6)));
					}
				});
			});
			req.on("error", () => resolve(undefined));
		} else {
			const ws = new WebSocket(`${base.replace("http", "ws")}/api/notifications/ws`, { headers: { Authorization: `Bearer ${token}` }, perMessageDeflate: false });
			ws.on("message", data => {
				const message = JSON.parse(data.toString());
				if (message.type === "notification") onNotification(message.notification);
			});
			ws.once("open", () => resolve(() => ws.terminate()));
			ws.once("unexpected-response", () => resolve(undefined));
			ws.on("error", () => undefined);
		}
	});
}

interface Client {
	userId: string;
	transport: Transport;
	seen: Set<number>;
	close(): void;
}

interface Probe {
	token: string;
	participationId: string;
	/** When (performance.now()) its client received the clue_discovered notification of its discovery. */
	arrival: Promise<number>;
	close(): void;
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** `promise`'s value, or undefined after `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
	let timer: NodeJS.Timeout | undefined;
	try {
		return await Promise.race([promise, new Promise<undefined>(resolve => (timer = setTimeout(() => resolve(undefined), ms)))]);
	} finally {
		clearTimeout(timer);
	}
}

export async function benchLive(opts: { clients?: number; rate?: number; seconds?: number } = {}): Promise<LiveBenchResult> {
	const clients = opts.clients ?? 10_000;
	const rate = opts.rate ?? 1_000;
	const seconds = opts.seconds ?? 10;
	const urls = { nats: TEST_BACKEND_URLS.nats, redis: TEST_BACKEND_URLS.redis, postgres: TEST_BACKEND_URLS.postgres };
	for (const name of ["nats", "redis", "postgres"] as const) {
		const problem = await probeBackend(name, urls[name]);
		if (problem) return { skipped: `${name}: ${problem}` };
	}
	const namespace = `ltbenchlive${randomUUID().replace(/-/g, "").slice(0, 8)}`;
	const cluster = { NAMESPACE: namespace, TRANSPORTER: urls.nats, REDIS_URL: urls.redis, CHANNELS_URL: urls.nats };
	const node = await startGatewayNode({ ...cluster, LIVE_MAX_CONNECTIONS: String(clients + PROBES + 100) });
	const base = node.pingUrl.replace("/api/ping", "");
	const producer = new ServiceBroker({ namespace, nodeID: `${namespace}-producer`, transporter: { type: "NATS", options: { url: urls.nats } }, logger: false });
	const coreDir = tempDataDir();
	let core: ChildProcess | undefined;
	let database: ScratchDatabase | undefined;
	const open: Client[] = [];
	const probes: Probe[] = [];
	try {
		// The core node signs tokens with the gateway's key ring (startGatewayNode wrote it, and pins its public keys).
		const keysFile = path.join(node.dataDir, "signing-keys.json");
		database = await createScratchDatabase(urls.postgres, "live bench");
		const healthPort = await freePort();
		core = startProcess("platform/runtime/start.js", {
			...cluster,
			NODE_ENV: "production",
			NODE_ID: `${namespace}-core`,
			SERVICES: CORE_SERVICES,
			DATABASE_URL: database.url,
			DATA_DIR: coreDir,
			AUTH_KEYS_FILE: keysFile,
			ADMIN_EMAIL: BENCH_ADMIN.email,
			ADMIN_PASSWORD: BENCH_ADMIN.password,
			HEALTH_PORT: String(healthPort),
			LOG_LEVEL: "warn",
		});
		await Promise.all([waitForHttp(`http://127.0.0.1:${healthPort}/health/ready`, 120_000), producer.start()]);
		await producer.waitForServices(["api"], 30_000);
		// Ready can come before the gateway has seen the core node (it maps routes as services register).
		await waitForRoute(`${base}/api/participations/${randomUUID()}`, 401);
		const ring = await readKeyRing(keysFile);
		const settings = { issuer: "lootopia", audience: "lootopia-api", accessTtlSeconds: 900 };
		const signFor = (userId: string) => signAccessToken(ring, { sub: userId, roles: ["player"], partners: {}, sid: randomUUID() }, settings);

		// The probes: players of a hunt of two clues found in any order, so that reaching the first is
		// a discovery alone (one notification), the second being out of reach. Connected before the
		// memory baseline: what is measured per connection is the N clients'.
		const { owner, partnerId } = await createVerifiedPartner(base);
		const { huntId } = await publishHunt(base, owner, partnerId, {
			title: "Live probe",
			area: { ...START, radiusM: 5000 },
			clues: [
				{ title: "Probe", position: START, radiusM: 20 },
				{ title: "Out of reach", position: destination(START, 2000, 0), radiusM: 20 },
			],
		});
		for (let i = 0; i < PROBES; i++) {
			const token = await signFor(randomUUID());
			const joined = await json(`${base}/api/hunts/${huntId}/join`, { method: "POST", token, body: "{}" });
			if (joined.status !== 201) throw new Error(`a probe's join answered ${joined.status}: ${JSON.stringify(joined.body)}`);
			const participationId = joined.body.id as string;
			let arrived!: (at: number) => void;
			const arrival = new Promise<number>(resolve => (arrived = resolve));
			const close = await openLiveClient(base, token, i % 2 === 0 ? "sse" : "ws", notification => {
				if (notification.kind === "clue_discovered" && notification.data.participationId === participationId) arrived(performance.now());
			});
			if (!close) throw new Error("the gateway refused a probe's live connection");
			probes.push({ token, participationId, arrival, close });
		}

		const users = await Promise.all(
			Array.from({ length: clients }, async () => {
				const userId = randomUUID();
				return { userId, token: await signFor(userId) };
			}),
		);
		const latencies: number[] = [];
		let duplicates = 0;
		let refused = 0;
		const received = (client: Client, notification: LiveNotification) => {
			if (client.seen.has(notification.id)) duplicates++;
			else client.seen.add(notification.id);
			latencies.push(performance.now() - (notification.data.t as number));
		};

		// A fresh node shrinks for a while after start-up: measure from where it settles.
		const rssBefore = await settledRssMb(node.child.pid!);
		const heapBefore = await heapUsedMb(node.metricsUrl);
		const connectOne = async (index: number): Promise<void> => {
			const { userId, token } = users[index];
			const client: Client = { userId, transport: index % 2 === 0 ? "sse" : "ws", seen: new Set(), close: () => undefined };
			const close = await openLiveClient(base, token, client.transport, notification => received(client, notification));
			if (!close) {
				refused++;
				return;
			}
			client.close = close;
			open.push(client);
		};
		const connectStarted = performance.now();
		const CONCURRENCY = 200;
		let next = 0;
		await Promise.all(
			Array.from({ length: CONCURRENCY }, async () => {
				while (next < clients) await connectOne(next++);
			}),
		);
		const connectSeconds = Math.round((performance.now() - connectStarted) / 100) / 10;
		// Let the server settle (and collect what connecting left behind) before reading its memory.
		await sleep(5_000);
		const rssAfter = await settledRssMb(node.child.pid!);
		const heapAfter = await heapUsedMb(node.metricsUrl);

		// A steady rate, round-robin over the connected users: each user's numbers stay 1, 2, 3, …
		const numbers = new Map<string, number>();
		const targets = open.map(client => client.userId);
		let sent = 0;
		const total = rate * seconds;
		const tickMs = 10;
		const started = performance.now();
		const load = new Promise<void>(resolve => {
			const tick = () => {
				const due = Math.min(total, Math.round(((performance.now() - started) / 1000) * rate));
				while (sent < due) {
					const userId = targets[sent % targets.length];
					const id = (numbers.get(userId) ?? 0) + 1;
					numbers.set(userId, id);
					void producer.broadcast("notification.created", {
						userId,
						push: true,
						notification: { id, kind: "clue_discovered", title: "Found", body: "A clue", data: { t: performance.now() }, createdAt: new Date().toISOString() },
					});
					sent++;
				}
				if (sent >= total) return resolve();
				setTimeout(tick, tickMs);
			};
			tick();
		});
		// The probes' discoveries, spread evenly over the load, each timed on its own.
		const discover = async (probe: Probe): Promise<number | undefined> => {
			const reportedAt = performance.now();
			const report = await json(`${base}/api/participations/${probe.participationId}/locations`, {
				method: "POST",
				token: probe.token,
				body: JSON.stringify({ ...START, accuracy: 5, recordedAt: new Date().toISOString() }),
			});
			if (report.body.outcome !== "discovered") throw new Error(`a probe's report answered ${report.status}: ${JSON.stringify(report.body)}`);
			const arrivedAt = await within(probe.arrival, PROBE_TIMEOUT_MS);
			return arrivedAt === undefined ? undefined : arrivedAt - reportedAt;
		};
		const probing = Promise.all(
			probes.map(async (probe, i) => {
				await sleep(((i + 0.5) * seconds * 1000) / PROBES);
				return discover(probe);
			}),
		);
		const [, probeLatencies] = await Promise.all([load, probing]);
		const deadline = performance.now() + 10_000;
		while (latencies.length < sent && performance.now() < deadline) await sleep(100);
		const sorted = [...latencies].sort((a, b) => a - b);
		const receivedCount = open.reduce((sum, client) => sum + client.seen.size, 0);
		const discoveries = probeLatencies.filter((ms): ms is number => ms !== undefined).sort((a, b) => a - b);
		const perConnectionKb = (before: number, after: number) => Math.round(((after - before) * 1024 * 10) / Math.max(1, open.length)) / 10;
		return {
			clients,
			sse: open.filter(client => client.transport === "sse").length,
			ws: open.filter(client => client.transport === "ws").length,
			connectSeconds,
			rssMb: { before: rssBefore, after: rssAfter, perConnectionKb: perConnectionKb(rssBefore, rssAfter) },
			heapMb: { before: heapBefore, after: heapAfter, perConnectionKb: perConnectionKb(heapBefore, heapAfter) },
			delivery: {
				rate,
				seconds,
				sent,
				received: receivedCount,
				lost: sent - receivedCount,
				duplicates,
				p50Ms: percentile(sorted, 50),
				p99Ms: percentile(sorted, 99),
				maxMs: percentile(sorted, 100),
			},
			refused,
			discoveryToNotification: {
				probes: PROBES,
				samples: discoveries.length,
				lost: PROBES - discoveries.length,
				p50Ms: percentile(discoveries, 50),
				p99Ms: percentile(discoveries, 99),
				maxMs: percentile(discoveries, 100),
			},
		};
	} finally {
		for (const client of [...open, ...probes]) client.close();
		await producer.stop().catch(() => undefined);
		await Promise.all([stopProcess(node.child), core ? stopProcess(core) : undefined]);
		for (const dir of [node.dataDir, coreDir]) fs.rmSync(dir, { recursive: true, force: true });
		await database?.drop();
		await cleanUpNamespace(namespace, urls, "live bench");
	}
}
