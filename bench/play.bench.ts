/**
 * Position reports through the gateway: `PLAYERS` simulated players (signed-in, joined) jog a
 * published trail of clues 20 m apart, each report a real fix the server decides (anti-cheat,
 * geofences, discoveries, scores, the outbox). Against the gateway's trivial action (GET /api/ping)
 * with the same client in the same run, in alternating rounds: reports/s, p50/p99, the outcomes, and
 * the ratio the issue asks for (aim: 5,000 reports/s, p99 < 50 ms, ≥ 0.4 of the trivial action);
 * then, under another round of report load, how long a discovery takes to reach the hunt's board.
 *
 * Two setups, measured the same way:
 * - embedded: one node, every service, PGlite, channels on its SQL log (`npm start`);
 * - cluster: PostgreSQL + Redis + NATS with two gameplay nodes. Three processes on NATS
 *   (TRANSPORTER) in a namespace of the run's own: a gateway node with every other service
 *   (api, auth, users, partners, audit, hunts, geo, leaderboards) and two nodes running gameplay
 *   only, which Moleculer balances the reports over. A scratch PostgreSQL database for the run
 *   (DATABASE_URL; dropped after), Redis for the store, cache and rate limits (REDIS_URL), channels
 *   on NATS JetStream (BENCH_PLAY_CHANNELS=redis: Redis Streams). Each gameplay node's Prometheus
 *   metrics say how many reports it served: the bench stops unless both served joins before the
 *   rounds, and reports what each served during them, with each node's CPU use.
 *
 * BENCH_PLAY_CLUSTER: unset runs both (the cluster is skipped, with the reason, when a backend does
 * not answer: `npm run backends -- up`); 1 runs the cluster only, 0 the embedded node only.
 * BENCH_PLAYERS, BENCH_DURATION and BENCH_ROUNDS as for the other benches; TEST_DATABASE_URL,
 * TEST_REDIS_URL and TEST_NATS_URL name the servers, as for the tests.
 */
import fs from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import { destination } from "../domain/hunts/geo";
import { readOrCreateKeyRing } from "../platform/identity/key-store";
import { signAccessToken, type KeyRing } from "../platform/identity/tokens";
import { probeBackend, TEST_BACKEND_URLS } from "../test/backends/probes";
import {
	BENCH_ADMIN,
	cleanUpNamespace,
	createScratchDatabase,
	createVerifiedPartner,
	freePort,
	json,
	median,
	publishHunt,
	startEmbeddedNode,
	startProcess,
	stopProcess,
	tempDataDir,
	waitForHttp,
	waitForRoute,
} from "./support";

const START = { lat: 45.764, lon: 4.8357 };
const CLUE_SPACING_M = 20;
const CLUES = 40;
/** Probe discoveries timed to the leaderboard, one after another during a round of load. */
const PROBES = 30;
/** 5 m/s: a jog, far below the speed limit, so a run finds a clue every four seconds or so. */
const SPEED_MPS = 5;

interface Round {
	perSecond: number;
	p50Ms: number;
	p99Ms: number;
}

export interface PlayNodeUsage {
	nodeID: string;
	services: string;
	/** CPU the process used during the measured report rounds, in % of one core (can pass 100 with worker threads). */
	cpuPercent: number;
	/** Reports (gameplay.report) this node served during the measured report rounds, from its metrics; gameplay nodes in the cluster only. */
	reportsServed?: number;
}

export interface PlayBenchResult {
	mode: "embedded" | "cluster";
	/** What the mode ran on. */
	setup: string;
	/** Why the mode did not run (a backend that does not answer). */
	skipped?: string;
	players: number;
	concurrency: number;
	durationSeconds: number;
	rounds: number;
	reports: Round;
	ping: Round;
	ratio: number;
	outcomes: Record<string, number>;
	errors: number;
	/** From a report's answer saying "discovered" to the hunt's board showing it, during a round of report load. */
	discoveryToLeaderboard: { samples: number; p50Ms: number; p99Ms: number; maxMs: number };
	/** Each node process, during the measured report rounds. */
	nodes: PlayNodeUsage[];
	/** CPU this bench process (the load generator) used during them, in % of one core. */
	clientCpuPercent: number;
	/** The whole machine's CPU busy during them (every process: the database, Redis, NATS too), in % of all its cores. */
	machineCpuBusyPercent: number;
	/** The same over two seconds before the load began: what else (another run, a test) was using the machine. */
	machineCpuBusyBeforePercent: number;
}

function percentile(sorted: number[], p: number): number {
	return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : 0;
}

/** `concurrency` loops sending `next()` requests for `seconds`; latency per request, in ms. */
async function drive(seconds: number, concurrency: number, next: () => Promise<string>): Promise<{ round: Round; outcomes: Record<string, number>; errors: number }> {
	const latencies: number[] = [];
	const outcomes: Record<string, number> = {};
	let errors = 0;
	const until = performance.now() + seconds * 1000;
	await Promise.all(
		Array.from({ length: concurrency }, async () => {
			while (performance.now() < until) {
				const started = performance.now();
				try {
					const outcome = await next();
					outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
				} catch {
					errors++;
				}
				latencies.push(performance.now() - started);
			}
		}),
	);
	latencies.sort((a, b) => a - b);
	const round = { perSecond: Math.round(latencies.length / seconds), p50Ms: Math.round(percentile(latencies, 0.5) * 10) / 10, p99Ms: Math.round(percentile(latencies, 0.99) * 10) / 10 };
	return { round, outcomes, errors };
}

/** CPU ticks (user + system, 1/100 s) a process has used so far. */
function cpuTicks(pid: number): number {
	const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
	// Fields after the parenthesised command name; utime and stime are fields 14 and 15.
	const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
	return Number(fields[11]) + Number(fields[12]);
}

/** The machine's CPU time so far, in ticks: all of it, and the part spent idle (or waiting for I/O). */
function machineTicks(): { total: number; idle: number } {
	const fields = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
	// user nice system idle iowait irq softirq steal (guest time is already in user).
	const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
	return { total, idle: fields[3] + fields[4] };
}

interface SystemNode {
	nodeID: string;
	services: string;
	child: ChildProcess;
	/** Prometheus metrics of a gameplay node (the cluster's), to count the reports it served. */
	metricsUrl?: string;
}

/** A running system to measure: its gateway, the key ring its tokens verify against, its node processes. */
interface System {
	mode: PlayBenchResult["mode"];
	setup: string;
	base: string;
	ring: KeyRing;
	nodes: SystemNode[];
	stop(): Promise<void>;
}

/** Calls of `action` a node served (its moleculer_request_total series, every caller), at most a second old. */
async function servedCalls(metricsUrl: string, action: string): Promise<number> {
	const text = await (await fetch(metricsUrl)).text();
	let total = 0;
	for (const line of text.split("\n")) {
		if (line.startsWith("moleculer_request_total{") && line.includes(`action="${action}"`) && line.includes('type="local"')) total += Number(line.slice(line.lastIndexOf(" ") + 1)) || 0;
	}
	return total;
}

/** The metrics middleware publishes once a second: wait that out before reading counts. */
async function servedCallsSettled(metricsUrl: string, action: string): Promise<number> {
	await new Promise(resolve => setTimeout(resolve, 1_200));
	return servedCalls(metricsUrl, action);
}

async function startEmbedded(): Promise<System> {
	const node = await startEmbeddedNode({ ADMIN_EMAIL: BENCH_ADMIN.email, ADMIN_PASSWORD: BENCH_ADMIN.password });
	return {
		mode: "embedded",
		setup: "one node, every service, PGlite, channels on its SQL log",
		base: node.base,
		ring: node.ring,
		nodes: [{ nodeID: "embedded", services: "*", child: node.child }],
		stop: node.stop,
	};
}

const CLUSTER_BACKENDS = ["postgres", "redis", "nats"] as const;

/** Why the cluster cannot run here, if a backend it needs does not answer. */
async function clusterUnavailable(): Promise<string | undefined> {
	for (const name of CLUSTER_BACKENDS) {
		const reason = await probeBackend(name, TEST_BACKEND_URLS[name]);
		if (reason) return `${name} ${reason}`;
	}
	return undefined;
}

const GATEWAY_SERVICES = "api,auth,users,partners,audit,hunts,geo,leaderboards";

async function startCluster(): Promise<System> {
	const urls = { postgres: TEST_BACKEND_URLS.postgres, redis: TEST_BACKEND_URLS.redis, nats: TEST_BACKEND_URLS.nats };
	const channelsOn = process.env.BENCH_PLAY_CHANNELS === "redis" ? "redis" : "nats";
	const namespace = `ltbenchplay${randomUUID().replace(/-/g, "").slice(0, 8)}`;
	const database = await createScratchDatabase(urls.postgres, "play bench");
	const dataDirs: string[] = [];
	const nodes: SystemNode[] = [];
	const stop = async () => {
		await Promise.all(nodes.map(node => stopProcess(node.child)));
		for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
		await database.drop();
		await cleanUpNamespace(namespace, { redis: urls.redis, nats: channelsOn === "nats" ? urls.nats : undefined }, "play bench");
	};
	try {
		const keysDir = tempDataDir();
		dataDirs.push(keysDir);
		const keysFile = path.join(keysDir, "signing-keys.json");
		const ring = (await readOrCreateKeyRing(keysFile)).ring;
		const common = {
			NODE_ENV: "production",
			NAMESPACE: namespace,
			TRANSPORTER: urls.nats,
			DATABASE_URL: database.url,
			REDIS_URL: urls.redis,
			CHANNELS_URL: channelsOn === "redis" ? urls.redis : urls.nats,
			LOG_LEVEL: "warn",
		};
		const port = await freePort();
		const gatewayDir = tempDataDir();
		dataDirs.push(gatewayDir);
		nodes.push({
			nodeID: `${namespace}-gateway`,
			services: GATEWAY_SERVICES,
			child: startProcess("platform/runtime/start.js", {
				...common,
				NODE_ID: `${namespace}-gateway`,
				SERVICES: GATEWAY_SERVICES,
				PORT: String(port),
				HOST: "127.0.0.1",
				DATA_DIR: gatewayDir,
				AUTH_KEYS_FILE: keysFile,
				ADMIN_EMAIL: BENCH_ADMIN.email,
				ADMIN_PASSWORD: BENCH_ADMIN.password,
				// Every simulated player comes from this one address.
				RATE_LIMIT_PER_MINUTE: "0",
				REGISTRATIONS_PER_HOUR: "0",
			}),
		});
		const ready: Promise<unknown>[] = [];
		for (const n of [1, 2]) {
			const nodeID = `${namespace}-gameplay-${n}`;
			const [healthPort, metricsPort] = [await freePort(), await freePort()];
			const dataDir = tempDataDir();
			dataDirs.push(dataDir);
			nodes.push({
				nodeID,
				services: "gameplay",
				metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
				child: startProcess("platform/runtime/start.js", {
					...common,
					NODE_ID: nodeID,
					SERVICES: "gameplay",
					DATA_DIR: dataDir,
					// As the deployment's backend nodes: they sign the machine tokens of their calls to other services.
					AUTH_KEYS_FILE: keysFile,
					HEALTH_PORT: String(healthPort),
					// On, as in production, to read the reports this node served.
					METRICS_ENABLED: "true",
					METRICS_PORT: String(metricsPort),
				}),
			});
			ready.push(waitForHttp(`http://127.0.0.1:${healthPort}/health/ready`, 120_000));
		}
		const base = `http://127.0.0.1:${port}`;
		await Promise.all([waitForHttp(`${base}/health/ready`, 120_000), ...ready]);
		// Ready can come before the gateway has seen the gameplay nodes (it maps routes as services register).
		await waitForRoute(`${base}/api/participations/${randomUUID()}`, 401);
		return {
			mode: "cluster",
			setup: `PostgreSQL + Redis + NATS (channels on ${channelsOn === "redis" ? "Redis Streams" : "NATS JetStream"}): a gateway node (${GATEWAY_SERVICES}) and two gameplay nodes`,
			base,
			ring,
			nodes,
			stop,
		};
	} catch (err) {
		await stop();
		throw err;
	}
}

async function measure(system: System, players: number, concurrency: number, duration: number, rounds: number): Promise<PlayBenchResult> {
	const { base, ring } = system;
	const gameplayNodes = system.nodes.filter(node => node.metricsUrl);
	const { owner, partnerId } = await createVerifiedPartner(base);
	const area = { ...START, radiusM: 5000 };
	const { huntId } = await publishHunt(base, owner, partnerId, {
		title: "Bench trail",
		area,
		clues: Array.from({ length: CLUES }, (_, i) => ({ title: `Clue ${i}`, position: destination(START, i * CLUE_SPACING_M, Math.PI / 2), radiusM: 8 })),
		trail: true,
	});

	// Players sign in with tokens made from the node's key ring (registration hashes a password: minutes for a thousand).
	const settings = { issuer: "lootopia", audience: "lootopia-api", accessTtlSeconds: 900 };
	const walkers = await Promise.all(
		Array.from({ length: players }, async () => {
			const userId = randomUUID();
			const token = await signAccessToken(ring, { sub: userId, roles: ["player"], partners: {}, sid: randomUUID() }, settings);
			return { token, participationId: "", startedAt: 0 };
		}),
	);
	for (const walker of walkers) {
		const joined = await json(`${base}/api/hunts/${huntId}/join`, { method: "POST", token: walker.token, body: "{}" });
		if (joined.status !== 201) throw new Error(`join answered ${joined.status}: ${JSON.stringify(joined.body)}`);
		walker.participationId = joined.body.id as string;
	}
	// The joins went through the gateway's balancing like the reports will: each gameplay node must have served some.
	if (gameplayNodes.length) {
		const joins = await Promise.all(gameplayNodes.map(node => servedCallsSettled(node.metricsUrl!, "gameplay.join")));
		const idle = gameplayNodes.filter((_, i) => !joins[i]);
		if (idle.length) throw new Error(`gameplay node(s) ${idle.map(node => node.nodeID).join(", ")} served none of the ${players} joins (${JSON.stringify(joins)})`);
	}

	let turn = 0;
	const report = async () => {
		const walker = walkers[turn++ % walkers.length];
		const now = Date.now();
		if (!walker.startedAt) walker.startedAt = now;
		// Each player jogs east from the first clue from its first report on; the trail loops every 40 clues' worth.
		const metres = (((now - walker.startedAt) / 1000) * SPEED_MPS) % (CLUES * CLUE_SPACING_M);
		const at = destination(START, metres, Math.PI / 2);
		const res = await json(`${base}/api/participations/${walker.participationId}/locations`, {
			method: "POST",
			token: walker.token,
			body: JSON.stringify({ ...at, accuracy: 5, recordedAt: new Date(now).toISOString() }),
		});
		if (res.status !== 200) throw new Error(String(res.status));
		return res.body.outcome as string;
	};
	const ping = async () => {
		const res = await fetch(`${base}/api/ping`);
		await res.arrayBuffer();
		if (res.status !== 200) throw new Error(String(res.status));
		return "pong";
	};

	const atRest = machineTicks();
	await new Promise(resolve => setTimeout(resolve, 2_000));
	const atRestAfter = machineTicks();
	const machineCpuBusyBeforePercent = Math.round((100 * (atRestAfter.total - atRest.total - (atRestAfter.idle - atRest.idle))) / Math.max(1, atRestAfter.total - atRest.total));

	await drive(3, concurrency, ping);
	const reportRounds: Round[] = [];
	const pingRounds: Round[] = [];
	const outcomes: Record<string, number> = {};
	let errors = 0;
	// CPU of each node and of this process, and reports served per gameplay node, over the report rounds only.
	const ticks = system.nodes.map(() => 0);
	let clientMicros = 0;
	const machine = { total: 0, idle: 0 };
	const servedBefore = await Promise.all(gameplayNodes.map(node => servedCalls(node.metricsUrl!, "gameplay.report")));
	for (let round = 0; round < rounds; round++) {
		pingRounds.push((await drive(duration, concurrency, ping)).round);
		const ticksBefore = system.nodes.map(node => cpuTicks(node.child.pid!));
		const clientBefore = process.cpuUsage();
		const machineBefore = machineTicks();
		const run = await drive(duration, concurrency, report);
		const machineAfter = machineTicks();
		const clientUsed = process.cpuUsage(clientBefore);
		machine.total += machineAfter.total - machineBefore.total;
		machine.idle += machineAfter.idle - machineBefore.idle;
		clientMicros += clientUsed.user + clientUsed.system;
		system.nodes.forEach((node, i) => (ticks[i] += cpuTicks(node.child.pid!) - ticksBefore[i]));
		reportRounds.push(run.round);
		errors += run.errors;
		for (const [outcome, n] of Object.entries(run.outcomes)) outcomes[outcome] = (outcomes[outcome] ?? 0) + n;
	}
	const servedAfter = await Promise.all(gameplayNodes.map(node => servedCallsSettled(node.metricsUrl!, "gameplay.report")));
	const measuredSeconds = rounds * duration;
	const nodes: PlayNodeUsage[] = system.nodes.map((node, i) => {
		const g = gameplayNodes.indexOf(node);
		return {
			nodeID: node.nodeID,
			services: node.services,
			cpuPercent: Math.round(ticks[i] / measuredSeconds),
			...(g >= 0 ? { reportsServed: servedAfter[g] - servedBefore[g] } : {}),
		};
	});

	// Discovery to leaderboard, under load: probe players each find the one clue of a hunt of their
	// own (so they top its board) while the report load runs, and the board is polled until it shows them.
	const { huntId: probeHuntId } = await publishHunt(base, owner, partnerId, { title: "Probe", area, clues: [{ title: "Probe", position: START, radiusM: 20 }] });
	const latencies: number[] = [];
	const probes = async () => {
		for (let i = 0; i < PROBES; i++) {
			const playerId = randomUUID();
			const token = await signAccessToken(ring, { sub: playerId, roles: ["player"], partners: {}, sid: randomUUID() }, settings);
			const id = (await json(`${base}/api/hunts/${probeHuntId}/join`, { method: "POST", token, body: "{}" })).body.id as string;
			const found = await json(`${base}/api/participations/${id}/locations`, { method: "POST", token, body: JSON.stringify({ ...START, accuracy: 5, recordedAt: new Date().toISOString() }) });
			const discoveredAt = performance.now();
			if (found.body.outcome !== "completed") throw new Error(`probe answered ${JSON.stringify(found.body)}`);
			for (;;) {
				const board = await json(`${base}/api/hunts/${probeHuntId}/leaderboard?limit=100`);
				if ((board.body.items as Array<{ playerId: string }>).some(item => item.playerId === playerId)) break;
				if (performance.now() - discoveredAt > 30_000) throw new Error("the board never showed a probe's discovery");
				await new Promise(resolve => setTimeout(resolve, 10));
			}
			latencies.push(performance.now() - discoveredAt);
		}
	};
	await Promise.all([drive(duration, concurrency, report), probes()]);
	latencies.sort((a, b) => a - b);
	const ms = (value: number) => Math.round(value * 10) / 10;
	const discoveryToLeaderboard = { samples: latencies.length, p50Ms: ms(percentile(latencies, 0.5)), p99Ms: ms(percentile(latencies, 0.99)), maxMs: ms(latencies.at(-1) ?? 0) };

	const summary = (list: Round[]): Round => ({ perSecond: median(list.map(r => r.perSecond)), p50Ms: median(list.map(r => r.p50Ms)), p99Ms: median(list.map(r => r.p99Ms)) });
	const reports = summary(reportRounds);
	const pings = summary(pingRounds);
	return {
		mode: system.mode,
		setup: system.setup,
		players,
		concurrency,
		durationSeconds: duration,
		rounds,
		reports,
		ping: pings,
		ratio: Math.round((reports.perSecond / pings.perSecond) * 1000) / 1000,
		outcomes,
		errors,
		discoveryToLeaderboard,
		nodes,
		clientCpuPercent: Math.round(clientMicros / 1e4 / measuredSeconds),
		machineCpuBusyPercent: Math.round((100 * (machine.total - machine.idle)) / Math.max(1, machine.total)),
		machineCpuBusyBeforePercent,
	};
}

/** The modes BENCH_PLAY_CLUSTER asks for, each measured on a system of its own, one after the other. */
export async function benchPlay(opts: { players?: number; concurrency?: number; durationSeconds?: number; rounds?: number } = {}): Promise<PlayBenchResult[]> {
	const players = opts.players ?? 1000;
	const concurrency = opts.concurrency ?? 64;
	const duration = opts.durationSeconds ?? 10;
	const rounds = opts.rounds ?? 3;
	const choice = process.env.BENCH_PLAY_CLUSTER;
	const results: PlayBenchResult[] = [];
	const run = async (start: () => Promise<System>) => {
		const system = await start();
		try {
			results.push(await measure(system, players, concurrency, duration, rounds));
		} finally {
			await system.stop();
		}
	};
	if (choice !== "1") await run(startEmbedded);
	if (choice !== "0") {
		const reason = await clusterUnavailable();
		if (reason) results.push({ mode: "cluster", setup: "PostgreSQL + Redis + NATS, two gameplay nodes", skipped: reason } as PlayBenchResult);
		else await run(startCluster);
	}
	return results;
}
