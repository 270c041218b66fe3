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
 */
import http from "node:http";
import path from "node:path";
import fs from "node:fs";
import { randomUUID } from "node:crypto";
import { ServiceBroker } from "moleculer";
import { WebSocket } from "ws";
import { readKeyRing } from "../platform/identity/key-store";
import { signAccessToken } from "../platform/identity/tokens";
import { probeBackend, TEST_BACKEND_URLS } from "../test/backends/probes";
import { residentMemoryMb, startGatewayNode, stopProcess } from "./support";

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

interface Client {
	userId: string;
	transport: "sse" | "ws";
	seen: Set<number>;
	close(): void;
}

export async function benchLive(opts: { clients?: number; rate?: number; seconds?: number } = {}): Promise<LiveBenchResult> {
	const clients = opts.clients ?? 10_000;
	const rate = opts.rate ?? 1_000;
	const seconds = opts.seconds ?? 10;
	for (const name of ["nats", "redis"] as const) {
		const problem = await probeBackend(name, TEST_BACKEND_URLS[name]);
		if (problem) return { skipped: `${name}: ${problem}` };
	}
	const namespace = `ltbenchlive${randomUUID().replace(/-/g, "").slice(0, 8)}`;
	const node = await startGatewayNode({
		TRANSPORTER: TEST_BACKEND_URLS.nats,
		REDIS_URL: TEST_BACKEND_URLS.redis,
		NAMESPACE: namespace,
		LIVE_MAX_CONNECTIONS: String(clients + 100),
	});
	const base = node.pingUrl.replace("/api/ping", "");
	const producer = new ServiceBroker({ namespace, nodeID: `${namespace}-producer`, transporter: { type: "NATS", options: { url: TEST_BACKEND_URLS.nats } }, logger: false });
	const open: Client[] = [];
	try {
		await producer.start();
		await producer.waitForServices(["api"], 30_000);
		const ring = await readKeyRing(path.join(node.dataDir, "signing-keys.json"));
		const settings = { issuer: "lootopia", audience: "lootopia-api", accessTtlSeconds: 900 };
		const users = await Promise.all(
			Array.from({ length: clients }, async () => {
				const userId = randomUUID();
				return { userId, token: await signAccessToken(ring, { sub: userId, roles: ["player"], partners: {}, sid: randomUUID() }, settings) };
			}),
		);
		const latencies: number[] = [];
		let duplicates = 0;
		let refused = 0;
		const received = (client: Client, notification: { id: number; data: { t: number } }) => {
			if (client.seen.has(notification.id)) duplicates++;
			else client.seen.add(notification.id);
			latencies.push(performance.now() - notification.data.t);
		};

		// A fresh node shrinks for a while after start-up: measure from where it settles.
		const rssBefore = await settledRssMb(node.child.pid!);
		const heapBefore = await heapUsedMb(node.metricsUrl);
		const wsBase = base.replace("http", "ws");
		const connectOne = (index: number): Promise<void> =>
			new Promise(resolve => {
				const { userId, token } = users[index];
				const client: Client = { userId, transport: index % 2 === 0 ? "sse" : "ws", seen: new Set(), close: () => undefined };
				const done = (ok: boolean) => {
					if (ok) open.push(client);
					else refused++;
					resolve();
				};
				if (index % 2 === 0) {
					const req = http.get(`${base}/api/notifications/stream`, { agent: false, headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" } }, res => {
						if (res.statusCode !== 200) {
							res.resume();
							return done(false);
						}
						res.setEncoding("utf8");
						let buffer = "";
						let connected = false;
						res.on("data", (chunk: string) => {
							buffer += chunk;
							let end: number;
							while ((end = buffer.indexOf("\n\n")) !== -1) {
								const block = buffer.slice(0, end);
								buffer = buffer.slice(end + 2);
								if (!connected && block.includes(": connected")) {
									connected = true;
									done(true);
								}
								const data = block.split("\n").find(line => line.startsWith("data: "));
								if (data && block.includes("event: notification")) received(client, JSON.parse(data.slice(6)));
							}
						});
					});
					req.on("error", () => done(false));
					client.close = () => req.destroy();
				} else {
					const ws = new WebSocket(`${wsBase}/api/notifications/ws`, { headers: { Authorization: `Bearer ${token}` }, perMessageDeflate: false });
					ws.on("message", data => {
						const message = JSON.parse(data.toString());
						if (message.type === "notification") received(client, message.notification);
					});
					ws.once("open", () => done(true));
					ws.once("unexpected-response", () => done(false));
					ws.on("error", () => undefined);
					client.close = () => ws.terminate();
				}
			});
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
		await new Promise(resolve => setTimeout(resolve, 5_000));
		const rssAfter = await settledRssMb(node.child.pid!);
		const heapAfter = await heapUsedMb(node.metricsUrl);

		// A steady rate, round-robin over the connected users: each user's numbers stay 1, 2, 3, …
		const numbers = new Map<string, number>();
		const targets = open.map(client => client.userId);
		let sent = 0;
		const total = rate * seconds;
		const tickMs = 10;
		const started = performance.now();
		await new Promise<void>(resolve => {
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
		const deadline = performance.now() + 10_000;
		while (latencies.length < sent && performance.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100));
		const sorted = [...latencies].sort((a, b) => a - b);
		const receivedCount = open.reduce((sum, client) => sum + client.seen.size, 0);
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
		};
	} finally {
		for (const client of open) client.close();
		await producer.stop().catch(() => undefined);
		await stopProcess(node.child);
		fs.rmSync(node.dataDir, { recursive: true, force: true });
	}
}
