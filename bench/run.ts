/**
 * `npm run bench`: runs every benchmark and prints the numbers (also written to
 * bench/results/latest.json). BENCH_ONLY=gateway|features|chain|startup|identity|channels|outbox|hunts|play|live|rewards runs one; BENCH_DURATION and
 * BENCH_ROUNDS shorten or lengthen the gateway and identity runs. BENCH_PLAY_CLUSTER=1|0 runs the play bench on the
 * cluster (PostgreSQL + Redis + NATS, two gameplay nodes) only, or embedded only; unset, both (play.bench.ts).
 */
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import { benchGateway } from "./gateway.bench";
import { benchGatewayFeatures } from "./gateway-features.bench";
import { benchMiddlewareChain } from "./middleware-chain.bench";
import { benchStartup } from "./startup.bench";
import { benchIdentity } from "./identity.bench";
import { benchChannels } from "./channels.bench";
import { benchOutbox } from "./outbox.bench";
import { benchHunts } from "./hunts.bench";
import { benchPlay } from "./play.bench";
import { benchLive } from "./live.bench";
import { benchRewards } from "./rewards.bench";
import { ROOT } from "./support";

async function main(): Promise<void> {
	const only = process.env.BENCH_ONLY;
	const results: Record<string, unknown> = {
		machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version },
		at: new Date().toISOString(),
	};
	if (!only || only === "gateway") {
		const gateway = await benchGateway({ durationSeconds: Number(process.env.BENCH_DURATION ?? 8), rounds: Number(process.env.BENCH_ROUNDS ?? 3) });
		results.gateway = gateway;
		console.log(`gateway: ${gateway.gateway.requestsPerSecond} req/s (p50 ${gateway.gateway.p50Ms} ms, p99 ${gateway.gateway.p99Ms} ms)`);
		console.log(`bare node:http: ${gateway.bare.requestsPerSecond} req/s (p50 ${gateway.bare.p50Ms} ms, p99 ${gateway.bare.p99Ms} ms)`);
		console.log(`ratio gateway / bare: ${gateway.ratio} (aim ≥ 0.6), ${gateway.connections} connections, ${gateway.rounds}×${gateway.durationSeconds}s median`);
		const scrape = gateway.scrapeUnderLoad;
		console.log(
			`metrics scrape under load: ${scrape.scrapeMs} ms for ${scrape.scrapeBytes} bytes; slowest request of a ${scrape.loadSeconds} s round ${scrape.maxLatencyWithScrapeMs} ms with the scrape, ${scrape.maxLatencyWithoutMs} ms without`,
		);
	}
	if (!only || only === "features") {
		const features = await benchGatewayFeatures({ durationSeconds: Number(process.env.BENCH_DURATION ?? 5), rounds: Number(process.env.BENCH_ROUNDS ?? 3) });
		results.gatewayFeatures = features;
		console.log(`gateway features (GET /api/ping, ${features.connections} connections, ${features.rounds}×${features.durationSeconds}s median, server CPU per request):`);
		console.log(`  bare node:http: ${features.bare.requestsPerSecond} req/s, ${features.bare.cpuMicrosPerRequest} µs`);
		const paced = features.barePaced;
		console.log(
			`  bare node:http with ${paced.busyMicros} µs of busy loop per request: ${paced.requestsPerSecond} req/s, ${paced.cpuMicrosPerRequest} µs (${Math.round((paced.cpuMicrosPerRequest - paced.busyMicros) * 10) / 10} µs beyond the loop: what answering at that pace costs Node and the kernel)`,
		);
		const plain = features.plainMoleculerWeb;
		console.log(`  plain moleculer-web (its defaults, no feature of ours): ${plain.requestsPerSecond} req/s (ratio ${plain.ratioToBare}), ${plain.cpuMicrosPerRequest} µs`);
		for (const c of features.configurations) {
			const marginal = c.marginalMicros === undefined ? "" : c.marginalMicros >= 0 ? `; the feature costs ${c.marginalMicros} µs` : `; adds ${-c.marginalMicros} µs`;
			console.log(`  ${c.name}: ${c.requestsPerSecond} req/s (ratio ${c.ratioToBare}), ${c.cpuMicrosPerRequest} µs${marginal}`);
		}
	}
	if (!only || only === "chain") {
		const chain = await benchMiddlewareChain({ rounds: Number(process.env.BENCH_ROUNDS ?? 5) });
		results.middlewareChain = chain;
		console.log(`broker middleware chain (a trivial local action, in-process, ${chain.rounds}×${chain.calls} calls median, CPU per call):`);
		for (const v of chain.variants) {
			const marginal = v.marginalMicros === undefined ? "" : v.marginalMicros >= 0 ? `; what it leaves out costs ${v.marginalMicros} µs` : `; adds ${-v.marginalMicros} µs`;
			console.log(`  ${v.name}: ${v.microsPerCall} µs${marginal}`);
		}
	}
	if (!only || only === "startup") {
		const startup = await benchStartup();
		results.startup = startup;
		console.log(`start to ready: first start ${startup.firstStartMs} ms (creates the embedded database), restart ${startup.restartMs} ms, npm start's build check ${startup.buildCheckMs} ms`);
		console.log(`idle resident memory: ${startup.idleRssMb} MB after ${startup.idleAfterSeconds} s`);
	}
	if (!only || only === "identity") {
		const identity = await benchIdentity({ durationSeconds: Number(process.env.BENCH_DURATION ?? 4), rounds: Number(process.env.BENCH_ROUNDS ?? 3) });
		results.identity = identity;
		const { hashing, login, authenticated: auth } = identity;
		const line = (t: { requestsPerSecond: number; p50Ms: number; p99Ms: number }) => `${t.requestsPerSecond} req/s (p50 ${t.p50Ms} ms, p99 ${t.p99Ms} ms)`;
		console.log(
			`password hash (argon2id verify): one alone p50 ${hashing.single.p50Ms} ms, p99 ${hashing.single.p99Ms} ms; ${hashing.concurrent.concurrency} concurrent: ${hashing.concurrent.hashesPerSecond} hashes/s (p50 ${hashing.concurrent.p50Ms} ms, p99 ${hashing.concurrent.p99Ms} ms), thread pool ${identity.threadPoolSize}`,
		);
		console.log(
			`logins: ${login.loginsPerSecond} logins/s (p50 ${login.p50Ms} ms, p99 ${login.p99Ms} ms), ${login.concurrency} concurrent over ${login.accounts} accounts; ratio logins / hashes: ${login.ratioToHashBound}`,
		);
		console.log(`GET /api/ping anonymous: ${line(auth.anonymousPing)}`);
		console.log(`GET /api/ping with a bearer token: ${line(auth.authenticatedPing)}; ratio ${auth.ratioPing}, +${auth.extraMicrosPerRequestPing} µs/request`);
		console.log(`GET /api/users/me (guarded, reads its database): ${line(auth.usersMe)}; ratio to anonymous ping ${auth.ratioUsersMe}, +${auth.extraMicrosPerRequestUsersMe} µs/request`);
		console.log(`identity: ${auth.connections} connections for the request comparison, ${identity.rounds}×${identity.durationSeconds}s median, alternating rounds`);
	}
	if (!only || only === "channels") {
		const channels = await benchChannels({ messages: Number(process.env.BENCH_MESSAGES ?? 10_000) });
		results.channels = channels;
		for (const c of channels) {
			if (c.skipped) console.log(`channels, ${c.backend}: skipped, ${c.skipped} (npm run backends -- up)`);
			else
				console.log(
					`channels, ${c.backend}: ${c.messages} messages, sends ${c.sendsPerSecond}/s, delivered ${c.deliveredPerSecond}/s (${c.ratioToEmbedded}× embedded), ` +
						`latency p50 ${c.latencyP50Ms} ms p99 ${c.latencyP99Ms} ms, lost ${c.lost}, duplicates ${c.duplicates}`,
				);
		}
	}
	if (!only || only === "outbox") {
		const outbox = await benchOutbox({ commits: Number(process.env.BENCH_COMMITS ?? 2000), messages: Number(process.env.BENCH_MESSAGES ?? 2000) });
		results.outbox = outbox;
		for (const o of outbox) {
			if (o.skipped) console.log(`outbox, ${o.database}: skipped, ${o.skipped} (npm run backends -- up)`);
			else
				console.log(
					`outbox, ${o.database}: a change commits in p50 ${o.commitP50Us.baseline} µs alone, ${o.commitP50Us.withOutbox} µs with its message (+${o.extraMicrosPerChange} µs; p99 ${o.commitP99Us.baseline} → ${o.commitP99Us.withOutbox} µs); ` +
						`${o.messages} messages: direct sends ${o.directSendsPerSecond}/s, relayed ${o.relayedPerSecond}/s (ratio ${o.ratioRelayToDirect})`,
				);
		}
	}
	if (!only || only === "hunts") {
		const hunts = await benchHunts({ durationSeconds: Number(process.env.BENCH_DURATION ?? 5) });
		results.hunts = hunts;
		const line = (t: { perSecond: number; p50Ms: number; p99Ms: number }) => `${t.perSecond}/s (p50 ${t.p50Ms} ms, p99 ${t.p99Ms} ms)`;
		for (const s of hunts.stores) {
			if (s.skipped) {
				console.log(`hunts near a point, ${s.store}: skipped, ${s.skipped}`);
				continue;
			}
			console.log(`hunts near a point, ${hunts.hunts} hunts on ${s.store}: geo.nearby ${line(s.nearbyAction!)}; hunts.search ${line(s.searchAction!)}`);
			console.log(
				`  through the gateway (${s.gateway!.connections} connections): GET /api/hunts ${line(s.gateway!.search)} vs GET /api/ping ${line(s.gateway!.ping)}: ratio ${s.gateway!.ratio} (aim ≥ 0.7), their views ${Math.round(s.gateway!.searchViewHitRate * 100)} % from the cache; public-view cache hit rate ${s.cacheHitRate}`,
			);
			const hot = s.aroundOneSquare!;
			console.log(`  around one square (views the cache holds): GET /api/hunts ${line(hot.search)} vs GET /api/ping ${line(hot.ping)}: ratio ${hot.ratio}`);
		}
		const pg = hunts.textAndGeoOnPostgres!;
		console.log(pg.skipped ? `text + geo on PostgreSQL: skipped, ${pg.skipped}` : `text + geo on PostgreSQL: ${line(pg)} (aim p99 < 25 ms)`);
		const os = hunts.textAndGeoOnOpenSearch!;
		console.log(os.skipped ? `text + geo on OpenSearch: skipped, ${os.skipped}` : `text + geo on OpenSearch: ${line(os)}`);
		for (const p of hunts.publish200Clues) console.log(p.skipped ? `publishing 200 clues, ${p.engine}: skipped, ${p.skipped}` : `publishing 200 clues, ${p.engine}: median ${p.medianMs} ms`);
	}
	if (!only || only === "play") {
		const play = await benchPlay({ players: Number(process.env.BENCH_PLAYERS ?? 1000), durationSeconds: Number(process.env.BENCH_DURATION ?? 10), rounds: Number(process.env.BENCH_ROUNDS ?? 3) });
		results.play = play;
		for (const p of play) {
			if (p.skipped) {
				console.log(`position reports, ${p.mode}: skipped, ${p.skipped} (npm run backends -- up)`);
				continue;
			}
			console.log(
				`position reports, ${p.mode} (${p.setup}), ${p.players} players, ${p.concurrency} in flight, ${p.rounds}×${p.durationSeconds}s median: ${p.reports.perSecond}/s (p50 ${p.reports.p50Ms} ms, p99 ${p.reports.p99Ms} ms; aim 5,000/s, p99 < 50 ms)`,
			);
			console.log(`  GET /api/ping with the same client: ${p.ping.perSecond}/s (p50 ${p.ping.p50Ms} ms, p99 ${p.ping.p99Ms} ms): ratio ${p.ratio} (aim ≥ 0.4)`);
			console.log(`  outcomes: ${JSON.stringify(p.outcomes)}; failed requests: ${p.errors}`);
			const served = (n: (typeof p.nodes)[number]) => (n.reportsServed === undefined ? "" : `, served ${n.reportsServed} reports`);
			console.log(
				`  during the report rounds: ${p.nodes.map(n => `${n.nodeID} (${n.services}) ${n.cpuPercent} % CPU${served(n)}`).join("; ")}; the load generator ${p.clientCpuPercent} % CPU; the machine ${p.machineCpuBusyPercent} % busy (${p.machineCpuBusyBeforePercent} % before the load)`,
			);
			const lag = p.discoveryToLeaderboard;
			console.log(`  discovery to leaderboard under that load (${lag.samples} probes): p50 ${lag.p50Ms} ms, p99 ${lag.p99Ms} ms, max ${lag.maxMs} ms`);
		}
	}
	if (!only || only === "live") {
		const live = await benchLive({ clients: Number(process.env.BENCH_LIVE_CLIENTS ?? 10_000), rate: Number(process.env.BENCH_LIVE_RATE ?? 1_000), seconds: Number(process.env.BENCH_DURATION ?? 10) });
		results.live = live;
		if (live.skipped) console.log(`live notifications: skipped, ${live.skipped} (npm run backends -- up nats redis postgres)`);
		else {
			const d = live.delivery!;
			console.log(
				`live notifications, one production gateway node: ${live.sse} SSE + ${live.ws} WebSocket clients connected in ${live.connectSeconds} s (${live.refused} refused); ` +
					`resident memory ${live.rssMb!.before} → ${live.rssMb!.after} MB (${live.rssMb!.perConnectionKb} KB per connection), heap ${live.heapMb!.before} → ${live.heapMb!.after} MB (${live.heapMb!.perConnectionKb} KB per connection)`,
			);
			console.log(
				`  ${d.rate} notifications/s for ${d.seconds} s: ${d.sent} sent, ${d.received} received, ${d.lost} lost, ${d.duplicates} duplicates; broadcast to client p50 ${d.p50Ms} ms, p99 ${d.p99Ms} ms, max ${d.maxMs} ms`,
			);
			const lag = live.discoveryToNotification!;
			console.log(
				`  discovery to notification under that load (${lag.probes} probes, half SSE, half WebSocket; a core node with every other service on PostgreSQL): ${lag.samples} arrived, ${lag.lost} lost; p50 ${lag.p50Ms} ms, p99 ${lag.p99Ms} ms, max ${lag.maxMs} ms`,
			);
		}
	}
	if (!only || only === "rewards") {
		const rewards = await benchRewards({ clients: Number(process.env.BENCH_REWARD_CLIENTS ?? 200), rounds: Number(process.env.BENCH_ROUNDS ?? 5) });
		results.rewards = rewards;
		const { claims, ping } = rewards;
		console.log(
			`reward claims, ${rewards.setup}: ${rewards.clients} finishers claiming one reward at once (stock ${rewards.stockPerRound}), ${rewards.rounds} rounds: ` +
				`${claims.perSecond} claims/s, p50 ${claims.p50Ms} ms, p99 ${claims.p99Ms} ms; codes per round ${rewards.codesPerRound.join(", ")} (refused ${rewards.refusedPerRound.join(", ")}, errors ${rewards.errors}); ` +
				`GET /api/ping at the same concurrency ${ping.perSecond}/s (p99 ${ping.p99Ms} ms), ratio ${rewards.ratio}`,
		);
	}
	const dir = path.join(ROOT, "bench", "results");
	fs.mkdirSync(dir, { recursive: true });
	fs.writeFileSync(path.join(dir, "latest.json"), JSON.stringify(results, null, 2));
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
