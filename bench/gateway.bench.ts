/**
 * Requests/s and latency percentiles of a trivial action (GET /api/ping → system.ping) through the
 * gateway with the production middleware on (validation, error envelope, security headers, request
 * ids, metrics), against bare node:http answering the same JSON, in the same run, alternating
 * rounds so machine noise hits both. Servers run in child processes; the load generator here. Then a
 * Prometheus scrape under that load: how long it takes and what it does to the slowest request.
 */
import fs from "node:fs";
import autocannon from "autocannon";
import { freePort, median, startGatewayNode, startProcess, stopProcess, waitForHttp } from "./support";

export interface GatewayBenchResult {
	connections: number;
	durationSeconds: number;
	rounds: number;
	bare: { requestsPerSecond: number; p50Ms: number; p99Ms: number };
	gateway: { requestsPerSecond: number; p50Ms: number; p99Ms: number };
	ratio: number;
	/**
	 * A Prometheus scrape under load: load rounds of the same length with and without one scrape
	 * near their end; how long the scrape took, and the slowest request of each round.
	 */
	scrapeUnderLoad: { loadSeconds: number; scrapeMs: number; scrapeBytes: number; maxLatencyWithScrapeMs: number; maxLatencyWithoutMs: number };
}

async function load(url: string, connections: number, duration: number) {
	const result = await autocannon({ url, connections, duration, pipelining: 1 });
	if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
	return { requestsPerSecond: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99, maxMs: result.latency.max };
}

/** A load round of `seconds`, with a scrape of `metricsUrl` a second before its end when given. */
async function loadWithScrape(url: string, connections: number, seconds: number, metricsUrl?: string): Promise<{ maxMs: number; scrapeMs: number; scrapeBytes: number }> {
	const round = load(url, connections, seconds);
	let scrapeMs = 0;
	let scrapeBytes = 0;
	if (metricsUrl) {
		await new Promise(resolve => setTimeout(resolve, (seconds - 1) * 1000));
		const started = performance.now();
		const text = await (await fetch(metricsUrl)).text();
		scrapeMs = Math.round((performance.now() - started) * 10) / 10;
		scrapeBytes = text.length;
	}
	return { maxMs: (await round).maxMs, scrapeMs, scrapeBytes };
}

export async function benchGateway(opts: { connections?: number; durationSeconds?: number; rounds?: number } = {}): Promise<GatewayBenchResult> {
	const connections = opts.connections ?? 50;
	const duration = opts.durationSeconds ?? 8;
	const rounds = opts.rounds ?? 3;

	const barePort = await freePort();
	const bare = startProcess("bench/bare-server.js", { PORT: String(barePort) });
	const gateway = await startGatewayNode();
	try {
		await waitForHttp(`http://127.0.0.1:${barePort}/`);
		const bareUrl = `http://127.0.0.1:${barePort}/api/ping`;
		const gatewayUrl = gateway.pingUrl;
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
		// After the rounds above the node has counted a few hundred thousand requests: what a scrape finds.
		const scrapeLoadSeconds = 12;
		const without = await loadWithScrape(gatewayUrl, connections, scrapeLoadSeconds);
		const withScrape = await loadWithScrape(gatewayUrl, connections, scrapeLoadSeconds, gateway.metricsUrl);
		return {
			connections,
			durationSeconds: duration,
			rounds,
			bare: bareSummary,
			gateway: gatewaySummary,
			ratio: Math.round((gatewaySummary.requestsPerSecond / bareSummary.requestsPerSecond) * 1000) / 1000,
			scrapeUnderLoad: {
				loadSeconds: scrapeLoadSeconds,
				scrapeMs: withScrape.scrapeMs,
				scrapeBytes: withScrape.scrapeBytes,
				maxLatencyWithScrapeMs: withScrape.maxMs,
				maxLatencyWithoutMs: without.maxMs,
			},
		};
	} finally {
		await stopProcess(gateway.child);
		await stopProcess(bare);
		fs.rmSync(gateway.dataDir, { recursive: true, force: true });
	}
}
