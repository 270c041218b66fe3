import { ChildProcess, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { readOrCreateKeyRing, writePublicKeys } from "../platform/identity/key-store";
import type { KeyRing } from "../platform/identity/tokens";
import { acquireDatabase } from "../platform/sql";
import { deleteNatsStreams } from "../test/support/nats";

export const ROOT = path.resolve(__dirname, "..", "..");

export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

export function tempDataDir(): string {
	return fs.mkdtempSync(path.join(os.tmpdir(), "lootopia-bench-"));
}

/** Starts a compiled script of ours as a child process with its own environment. */
export function startProcess(script: string, env: Record<string, string>): ChildProcess {
	return fork(path.join(ROOT, "dist", script), [], {
		env: { ...process.env, ...env },
		stdio: ["ignore", "ignore", "inherit", "ipc"],
	});
}

export async function waitForHttp(url: string, timeoutMs = 60_000): Promise<number> {
	const started = performance.now();
	for (;;) {
		try {
			const res = await fetch(url);
			if (res.status === 200) return performance.now() - started;
		} catch {
			// not listening yet
		}
		if (performance.now() - started > timeoutMs) throw new Error(`${url} not ready within ${timeoutMs} ms`);
		await new Promise(resolve => setTimeout(resolve, 25));
	}
}

export function residentMemoryMb(pid: number): number {
	const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
	const match = /VmRSS:\s+(\d+) kB/.exec(status);
	return match ? Math.round(Number(match[1]) / 1024) : NaN;
}

export async function stopProcess(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null) return;
	await new Promise<void>(resolve => {
		child.once("exit", () => resolve());
		child.kill("SIGTERM");
		setTimeout(() => child.kill("SIGKILL"), 15_000).unref();
	});
}

export function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface GatewayNode {
	child: ChildProcess;
	/** GET /api/ping on it. */
	pingUrl: string;
	metricsUrl: string;
	dataDir: string;
}

/**
 * The gateway node group as deployed (NODE_ENV=production, SERVICES=api, which also runs `system`,
 * so domain services' background work does not share its event loop), every production feature
 * on, with `env`'s changes; ready when this returns. Stop it with stopProcess and remove `dataDir`.
 */
export async function startGatewayNode(env: Record<string, string> = {}): Promise<GatewayNode> {
	const port = await freePort();
	const metricsPort = await freePort();
	const dataDir = tempDataDir();
	const publicKeysFile = path.join(dataDir, "signing-keys.public.json");
	await writePublicKeys(publicKeysFile, (await readOrCreateKeyRing(path.join(dataDir, "signing-keys.json"))).ring);
	const child = startProcess("platform/runtime/start.js", {
		NODE_ENV: "production",
		SERVICES: "api",
		PORT: String(port),
		HOST: "127.0.0.1",
		DATA_DIR: dataDir,
		AUTH_PUBLIC_KEYS_FILE: publicKeysFile,
		// Counted like in production (one store increment per request) but never reached by the load.
		RATE_LIMIT_PER_MINUTE: "1000000000",
		METRICS_ENABLED: "true",
		METRICS_PORT: String(metricsPort),
		LOG_LEVEL: "warn",
		...env,
	});
	await waitForHttp(`http://127.0.0.1:${port}/health/ready`);
	return { child, pingUrl: `http://127.0.0.1:${port}/api/ping`, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, dataDir };
}

/** Until GET `url` answers `expected` (a route the gateway maps once the service behind it has registered). */
export async function waitForRoute(url: string, expected: number, timeoutMs = 60_000): Promise<void> {
	const deadline = performance.now() + timeoutMs;
	for (;;) {
		const res = await fetch(url);
		await res.arrayBuffer();
		if (res.status === expected) return;
		if (performance.now() > deadline) throw new Error(`GET ${url}: still ${res.status} after ${timeoutMs} ms, expected ${expected}`);
		await new Promise(resolve => setTimeout(resolve, 50));
	}
}

export interface EmbeddedNode {
	base: string;
	/** The node's signing keys: a bench signs its simulated players' tokens with them (registering a thousand would hash a thousand passwords). */
	ring: KeyRing;
	child: ChildProcess;
	stop(): Promise<void>;
}

/**
 * The whole system in one production process (every service, PGlite, channels on its SQL log) with
 * `env`'s changes, ready when this returns; `stop` also removes its data folder.
 */
export async function startEmbeddedNode(env: Record<string, string>): Promise<EmbeddedNode> {
	const port = await freePort();
	const dataDir = tempDataDir();
	const keysFile = path.join(dataDir, "signing-keys.json");
	const ring = (await readOrCreateKeyRing(keysFile)).ring;
	await writePublicKeys(path.join(dataDir, "signing-keys.public.json"), ring);
	const child = startProcess("platform/runtime/start.js", {
		NODE_ENV: "production",
		PORT: String(port),
		HOST: "127.0.0.1",
		DATA_DIR: dataDir,
		AUTH_KEYS_FILE: keysFile,
		// Every simulated client comes from this one address.
		RATE_LIMIT_PER_MINUTE: "0",
		REGISTRATIONS_PER_HOUR: "0",
		LOG_LEVEL: "warn",
		...env,
	});
	const stop = async () => {
		await stopProcess(child);
		fs.rmSync(dataDir, { recursive: true, force: true });
	};
	const base = `http://127.0.0.1:${port}`;
	try {
		await waitForHttp(`${base}/health/ready`, 120_000);
	} catch (err) {
		await stop();
		throw err;
	}
	return { base, ring, child, stop };
}

export interface ScratchDatabase {
	/** Its DATABASE_URL. */
	url: string;
	/** Drops it (ending connections still open), reporting rather than throwing what fails. */
	drop(): Promise<void>;
}

/** A database of the run's own on the PostgreSQL server at `serverUrl`; `label` names the bench in what `drop` reports. */
export async function createScratchDatabase(serverUrl: string, label: string): Promise<ScratchDatabase> {
	const name = `lootopia_bench_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
	const admin = await acquireDatabase({ url: serverUrl, poolSize: 1 });
	try {
		await admin.client.query(`create database "${name}"`);
	} catch (err) {
		await admin.release();
		throw err;
	}
	const url = new URL(serverUrl);
	url.pathname = `/${name}`;
	return {
		url: url.toString(),
		async drop() {
			await admin.client.query(`drop database if exists "${name}" with (force)`).catch(err => console.error(`${label}: could not drop ${name}: ${(err as Error).message}`));
			await admin.release();
		},
	};
}

/** Removes what the run left on the shared Redis (store, cache and channel keys all start with the namespace). */
async function deleteRedisKeys(url: string, namespace: string): Promise<void> {
	const { Redis } = await import("ioredis");
	const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
	try {
		await client.connect();
		const keys: string[] = [];
		for await (const batch of client.scanStream({ match: `${namespace}*`, count: 1000 })) keys.push(...(batch as string[]));
		for (let i = 0; i < keys.length; i += 1000) await client.del(...keys.slice(i, i + 1000));
	} finally {
		client.disconnect();
	}
}

/**
 * Removes what a run in `namespace` left on the shared servers: its Redis keys, and its JetStream
 * streams when its channels were on NATS (`nats`); reports rather than throws what fails.
 */
export async function cleanUpNamespace(namespace: string, servers: { redis: string; nats?: string }, label: string): Promise<void> {
	await deleteRedisKeys(servers.redis, namespace).catch(err => console.error(`${label}: could not delete the ${namespace}* Redis keys: ${(err as Error).message}`));
	if (servers.nats) await deleteNatsStreams(servers.nats, namespace).catch(err => console.error(`${label}: could not delete the ${namespace}_* streams: ${(err as Error).message}`));
}

/** JSON over HTTP: `init.token` as the bearer token, `init.body` already a JSON string. */
export async function json(url: string, init: RequestInit & { token?: string; body?: string } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
	const headers: Record<string, string> = { "Content-Type": "application/json", ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}) };
	const res = await fetch(url, { ...init, headers });
	return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The admin a bench starts its auth node with (ADMIN_EMAIL, ADMIN_PASSWORD), to verify its partner. */
export const BENCH_ADMIN = { email: "bench-admin@lootopia.example", password: "bench admin passphrase 1" };

/** Through the gateway at `base`: a partner verified by BENCH_ADMIN, and the token of its owner (registered: one password hash). */
export async function createVerifiedPartner(base: string): Promise<{ owner: string; partnerId: string }> {
	const admin = (await json(`${base}/api/auth/login`, { method: "POST", body: JSON.stringify(BENCH_ADMIN) })).body.accessToken as string;
	const registered = await json(`${base}/api/auth/register`, {
		method: "POST",
		body: JSON.stringify({ email: `${randomUUID()}@bench.example`, password: BENCH_ADMIN.password, displayName: "Bench partner" }),
	});
	const owner = registered.body.accessToken as string;
	const partnerId = (await json(`${base}/api/partners`, { method: "POST", token: owner, body: JSON.stringify({ name: "Bench partner" }) })).body.id as string;
	const verified = await json(`${base}/api/partners/${partnerId}/verify`, { method: "POST", token: admin, body: "{}" });
	if (verified.status !== 200) throw new Error(`partner verification answered ${verified.status}: ${JSON.stringify(verified.body)}`);
	return { owner, partnerId };
}

export interface BenchHunt {
	title: string;
	area: { lat: number; lon: number; radiusM: number };
	/** Each worth 10 points, its content its title. */
	clues: Array<{ title: string; position: { lat: number; lon: number }; radiusM: number }>;
	/** Chains the clues in order into one trail (else they can be found in any order). */
	trail?: boolean;
}

/** Through the gateway at `base`: `hunt`, public and running from 2026 to 2099, created by the partner's owner and published. */
export async function publishHunt(base: string, owner: string, partnerId: string, hunt: BenchHunt): Promise<{ huntId: string; clueIds: string[] }> {
	const created = await json(`${base}/api/hunts`, {
		method: "POST",
		token: owner,
		body: JSON.stringify({
			partnerId,
			title: hunt.title,
			description: hunt.title,
			tags: [],
			area: hunt.area,
			startsAt: "2026-01-01T00:00:00Z",
			endsAt: "2099-01-01T00:00:00Z",
			visibility: "public",
		}),
	});
	if (created.status !== 201) throw new Error(`creating a hunt answered ${created.status}: ${JSON.stringify(created.body)}`);
	const huntId = created.body.id as string;
	const clueIds: string[] = [];
	for (const clue of hunt.clues) {
		const added = await json(`${base}/api/hunts/${huntId}/clues`, { method: "POST", token: owner, body: JSON.stringify({ ...clue, content: clue.title, points: 10 }) });
		if (added.status !== 201) throw new Error(`adding a clue answered ${added.status}: ${JSON.stringify(added.body)}`);
		clueIds.push(added.body.id as string);
	}
	if (hunt.trail) {
		const paths = await json(`${base}/api/hunts/${huntId}/paths`, { method: "PUT", token: owner, body: JSON.stringify({ paths: clueIds.slice(1).map((to, i) => ({ from: clueIds[i], to })) }) });
		if (paths.status !== 200) throw new Error(`setting the paths answered ${paths.status}: ${JSON.stringify(paths.body)}`);
	}
	const published = await json(`${base}/api/hunts/${huntId}/publish`, { method: "POST", token: owner, body: "{}" });
	if (published.status !== 200) throw new Error(`publish answered ${published.status}: ${JSON.stringify(published.body)}`);
	return { huntId, clueIds };
}
