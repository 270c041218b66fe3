import { ChildProcess, fork } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { readOrCreateKeyRing, writePublicKeys } from "../platform/identity/key-store";
import type { KeyRing } from "../platform/identity/tokens";

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
