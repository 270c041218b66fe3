/**
 * What each gateway feature costs, in server CPU per request: the production gateway node
 * (SERVICES=api) answering GET /api/ping with every feature on, against the same node with one
 * feature off (or tracing on), and bare node:http, all running at once and loaded in turn, round
 * after round, so machine noise hits each alike. CPU per request is the server process's own
 * (user + system time from /proc, over the requests of the round), so the load generator sharing
 * the machine does not count. A feature's marginal cost is production's µs minus the µs without it.
 */
import fs from "node:fs";
import { execSync, type ChildProcess } from "node:child_process";
import autocannon from "autocannon";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { freePort, median, startGatewayNode, startProcess, stopProcess, waitForHttp } from "./support";
import { readOrCreateKeyRing } from "../platform/identity/key-store";
import { signAccessToken } from "../platform/identity/tokens";
import { probeBackend } from "../test/backends/probes";

interface Configuration {
	name: string;
	/** Changes from the production settings (startGatewayNode's). */
	env: Record<string, string>;
	/** Requests carry a signed access token, so the gateway verifies a caller (cached per token). */
	signedIn?: boolean;
}

const CONFIGURATIONS: Configuration[] = [
	{ name: "production (every feature on)", env: {} },
	// A negative marginal cost here is what the lean route saves.
	{ name: "lean routes off (moleculer-web's routing)", env: { GATEWAY_LEAN_ROUTES: "false" } },
	{ name: "metrics off", env: { METRICS_ENABLED: "false" } },
	{ name: "rate limit off", env: { RATE_LIMIT_PER_MINUTE: "0" } },
	{ name: "tracing on (every call, event exporter)", env: { TRACING_EXPORTER: "event" } },
	{ name: "tracing sampled at 1 %", env: { TRACING_EXPORTER: "event", TRACING_SAMPLE_RATE: "0.01" } },
	{ name: "signed-in caller (Bearer token)", env: {}, signedIn: true },
];

const PACED_BUSY_MICROS = 60;

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** With Redis answering, the shared store (rate limit counts) on Redis too: how production runs with more than one gateway. */
async function redisConfiguration(): Promise<Configuration | undefined> {
	if (await probeBackend("redis", REDIS_URL)) return undefined;
	return { name: "rate limit on Redis (STORE_URL)", env: { STORE_URL: REDIS_URL, NAMESPACE: `bench-${randomUUID().slice(0, 8)}` } };
}

/** A token the gateway node accepts: signed with the key ring startGatewayNode wrote, default issuer and lifetime (a longer one is refused). */
async function accessTokenFor(dataDir: string): Promise<string> {
	const ring = (await readOrCreateKeyRing(path.join(dataDir, "signing-keys.json"))).ring;
	return signAccessToken(ring, { sub: randomUUID(), roles: ["player"], partners: {}, sid: randomUUID() }, { issuer: "lootopia", audience: "lootopia-api", accessTtlSeconds: 900 });
}

export interface GatewayFeatureCost {
	name: string;
	requestsPerSecond: number;
	ratioToBare: number;
	cpuMicrosPerRequest: number;
	/** Production's µs per request minus this configuration's: what the feature it turns off costs (negative: what it adds). */
	marginalMicros?: number;
}

export interface GatewayFeaturesBenchResult {
	connections: number;
	durationSeconds: number;
	rounds: number;
	bare: { requestsPerSecond: number; cpuMicrosPerRequest: number };
	/** Bare node:http with a busy loop of `busyMicros` per request, answering at about the gateway's pace. */
	barePaced: { busyMicros: number; requestsPerSecond: number; cpuMicrosPerRequest: number };
	/** moleculer-web and Moleculer with their defaults (bench/plain-moleculer-web.ts). */
	plainMoleculerWeb: { requestsPerSecond: number; cpuMicrosPerRequest: number; ratioToBare: number };
	configurations: GatewayFeatureCost[];
}

const CLOCK_TICKS_PER_SECOND = Number(execSync("getconf CLK_TCK").toString().trim()) || 100;

/** The process's user + system CPU time so far, in µs (Linux /proc). */
function cpuMicros(pid: number): number {
	const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
	// After "pid (comm) ": state is field 3, utime field 14, stime field 15.
	return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND) * 1e6;
}

async function measured(url: string, pid: number, connections: number, duration: number, headers: Record<string, string> = {}): Promise<{ requestsPerSecond: number; cpuMicrosPerRequest: number }> {
	const before = cpuMicros(pid);
	const result = await autocannon({ url, connections, duration, headers });
	if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
	const requests = result.requests.total;
	return { requestsPerSecond: result.requests.average, cpuMicrosPerRequest: (cpuMicros(pid) - before) / requests };
}

export async function benchGatewayFeatures(opts: { connections?: number; durationSeconds?: number; rounds?: number } = {}): Promise<GatewayFeaturesBenchResult> {
	const connections = opts.connections ?? 50;
	const duration = opts.durationSeconds ?? 5;
	const rounds = opts.rounds ?? 3;
	const processes: ChildProcess[] = [];
	const dataDirs: string[] = [];
	try {
		const barePort = await freePort();
		const bare = startProcess("bench/bare-server.js", { PORT: String(barePort) });
		processes.push(bare);
		const servers: Array<{ configuration: Configuration; url: string; pid: number; headers: Record<string, string> }> = [];
		const measuredConfigurations = [...CONFIGURATIONS];
		const onRedis = await redisConfiguration();
		if (onRedis) measuredConfigurations.push(onRedis);
		for (const configuration of measuredConfigurations) {
			const gateway = await startGatewayNode(configuration.env);
			processes.push(gateway.child);
			dataDirs.push(gateway.dataDir);
			const headers: Record<string, string> = configuration.signedIn ? { authorization: `Bearer ${await accessTokenFor(gateway.dataDir)}` } : {};
			servers.push({ configuration, url: gateway.pingUrl, pid: gateway.child.pid!, headers });
		}
		// Bare node:http made as slow as the gateway by a busy loop: what answering at that pace costs
		// Node and the kernel per request beyond the loop (the load generator then waits between
		// answers, and each write must wake it).
		const pacedPort = await freePort();
		const paced = startProcess("bench/bare-server.js", { PORT: String(pacedPort), BUSY_MICROS: String(PACED_BUSY_MICROS) });
		processes.push(paced);
		const pacedUrl = `http://127.0.0.1:${pacedPort}/api/ping`;
		await waitForHttp(pacedUrl);
		const plainPort = await freePort();
		const plain = startProcess("bench/plain-moleculer-web.js", { PORT: String(plainPort) });
		processes.push(plain);
		const plainUrl = `http://127.0.0.1:${plainPort}/api/ping`;
		await waitForHttp(plainUrl);
		const bareUrl = `http://127.0.0.1:${barePort}/api/ping`;
		await waitForHttp(`http://127.0.0.1:${barePort}/`);
		// Warm every server (JIT, pools) before measuring.
		await measured(bareUrl, bare.pid!, connections, 2);
		await measured(plainUrl, plain.pid!, connections, 2);
		await measured(pacedUrl, paced.pid!, connections, 2);
		for (const server of servers) await measured(server.url, server.pid, connections, 2, server.headers);

		const bareRuns: Array<{ requestsPerSecond: number; cpuMicrosPerRequest: number }> = [];
		const plainRuns: Array<{ requestsPerSecond: number; cpuMicrosPerRequest: number }> = [];
		const pacedRuns: Array<{ requestsPerSecond: number; cpuMicrosPerRequest: number }> = [];
		const runs = servers.map(() => [] as Array<{ requestsPerSecond: number; cpuMicrosPerRequest: number }>);
		for (let round = 0; round < rounds; round++) {
			bareRuns.push(await measured(bareUrl, bare.pid!, connections, duration));
			plainRuns.push(await measured(plainUrl, plain.pid!, connections, duration));
			pacedRuns.push(await measured(pacedUrl, paced.pid!, connections, duration));
			for (const [i, server] of servers.entries()) runs[i].push(await measured(server.url, server.pid, connections, duration, server.headers));
		}
		const summary = (list: Array<{ requestsPerSecond: number; cpuMicrosPerRequest: number }>) => ({
			requestsPerSecond: Math.round(median(list.map(r => r.requestsPerSecond))),
			cpuMicrosPerRequest: Math.round(median(list.map(r => r.cpuMicrosPerRequest)) * 10) / 10,
		});
		const bareSummary = summary(bareRuns);
		const configurations = servers.map((server, i) => ({ name: server.configuration.name, ...summary(runs[i]) }));
		const production = configurations[0];
		return {
			connections,
			durationSeconds: duration,
			rounds,
			bare: bareSummary,
			barePaced: { busyMicros: PACED_BUSY_MICROS, ...summary(pacedRuns) },
			plainMoleculerWeb: { ...summary(plainRuns), ratioToBare: Math.round((summary(plainRuns).requestsPerSecond / bareSummary.requestsPerSecond) * 1000) / 1000 },
			configurations: configurations.map((c, i) => ({
				...c,
				ratioToBare: Math.round((c.requestsPerSecond / bareSummary.requestsPerSecond) * 1000) / 1000,
				...(i > 0 ? { marginalMicros: Math.round((production.cpuMicrosPerRequest - c.cpuMicrosPerRequest) * 10) / 10 } : {}),
			})),
		};
	} finally {
		for (const child of processes) await stopProcess(child);
		for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
	}
}
