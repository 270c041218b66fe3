/**
 * Requests/s and latency percentiles of a trivial action (GET /api/ping → system.ping) through the
 * gateway with the production middleware on (validation, error envelope, security headers, request
 * ids, metrics), against bare node:http answering the same JSON, in the same run, alternating
 * rounds so machine noise hits both. Servers run in child processes; the load generator here.
 */
import path from "node:path";
import autocannon from "autocannon";
import { readOrCreateKeyRing, writePublicKeys } from "../platform/identity/key-store";
import { freePort, median, startProcess, stopProcess, tempDataDir, waitForHttp } from "./support";

export interface GatewayBenchResult {
	connections: number;
	durationSeconds: number;
	rounds: number;
	bare: { requestsPerSecond: number; p50Ms: number; p99Ms: number };
	gateway: { requestsPerSecond: number; p50Ms: number; p99Ms: number };
	ratio: number;
}

async function load(url: string, connections: number, duration: number) {
	const result = await autocannon({ url, connections, duration, pipelining: 1 });
	if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
	return { requestsPerSecond: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99 };
}

export async function benchGateway(opts: { connections?: number; durationSeconds?: number; rounds?: number } = {}): Promise<GatewayBenchResult> {
	const connections = opts.connections ?? 50;
	const duration = opts.durationSeconds ?? 8;
	const rounds = opts.rounds ?? 3;

	const barePort = await freePort();
	const gatewayPort = await freePort();
	const bare = startProcess("bench/bare-server.js", { PORT: String(barePort) });
	const dataDir = tempDataDir();
	const publicKeysFile = path.join(dataDir, "signing-keys.public.json");
	await writePublicKeys(publicKeysFile, (await readOrCreateKeyRing(path.join(dataDir, "signing-keys.json"))).ring);
	// The gateway node group as deployed (SERVICES=api, which also runs `system`), so domain services'
	// background work (channel consumers, timers) does not share its event loop.
	const gateway = startProcess("platform/runtime/start.js", {
		NODE_ENV: "production",
		SERVICES: "api",
		PORT: String(gatewayPort),
		HOST: "127.0.0.1",
		DATA_DIR: dataDir,
		AUTH_PUBLIC_KEYS_FILE: publicKeysFile,
		// Counted like in production (one store increment per request) but never reached by the load.
		RATE_LIMIT_PER_MINUTE: "1000000000",
		METRICS_ENABLED: "true",
		METRICS_PORT: String(await freePort()),
		LOG_LEVEL: "warn",
	});
	try {
		await waitForHttp(`http://127.0.0.1:${barePort}/`);
		await waitForHttp(`http://127.0.0.1:${gatewayPort}/health/ready`);
		const bareUrl = `http://127.0.0.1:${barePort}/api/ping`;
		const gatewayUrl = `http://127.0.0.1:${gatewayPort}/api/ping`;
		// Warm both (JIT, connection pools) before measuring.
		await load(bareUrl, connections, 2);
		await load(gatewayUrl, connections, 2);

		const bareRuns = [];
		const gatewayRuns = [];
		for (let round = 0; round < rounds; round++) {
			bareRuns.push(await load(bareUrl, connections, duration));
			gatewayRuns.push(await load(gatewayUrl, connections, duration));
		}
		const summarise = (runs: Array<{ requestsPerSecond: number; p50Ms: number; p99Ms: number }>) => ({
			requestsPerSecond: Math.round(median(runs.map(r => r.requestsPerSecond))),
			p50Ms: median(runs.map(r => r.p50Ms)),
			p99Ms: median(runs.map(r => r.p99Ms)),
		});
		const bareSummary = summarise(bareRuns);
		const gatewaySummary = summarise(gatewayRuns);
		return {
			connections,
			durationSeconds: duration,
			rounds,
			bare: bareSummary,
			gateway: gatewaySummary,
			ratio: Math.round((gatewaySummary.requestsPerSecond / bareSummary.requestsPerSecond) * 1000) / 1000,
		};
	} finally {
		await stopProcess(gateway);
		await stopProcess(bare);
	}
}
