/**
 * Position reports through the gateway, embedded (one node, every service, PGlite): `PLAYERS`
 * simulated players (signed-in, joined) jog a published trail of clues 20 m apart, each report a
 * real fix the server decides (anti-cheat, geofences, discoveries, scores, the outbox). Against the
 * gateway's trivial action (GET /api/ping) with the same client in the same run, in alternating
 * rounds: reports/s, p50/p99, the outcomes, and the ratio the issue asks for (aim: 5,000 reports/s,
 * p99 < 50 ms, ≥ 0.4 of the trivial action).
 */
import fs from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { destination } from "../domain/hunts/geo";
import { readOrCreateKeyRing, writePublicKeys } from "../platform/identity/key-store";
import { signAccessToken } from "../platform/identity/tokens";
import { freePort, median, startProcess, stopProcess, tempDataDir, waitForHttp } from "./support";

const ADMIN = { email: "bench-admin@lootopia.example", password: "bench admin passphrase 1" };
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

export interface PlayBenchResult {
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

async function json(url: string, init: RequestInit & { token?: string; body?: string } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
	const headers: Record<string, string> = { "Content-Type": "application/json", ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}) };
	const res = await fetch(url, { ...init, headers });
	return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export async function benchPlay(opts: { players?: number; concurrency?: number; durationSeconds?: number; rounds?: number } = {}): Promise<PlayBenchResult> {
	const players = opts.players ?? 1000;
	const concurrency = opts.concurrency ?? 64;
	const duration = opts.durationSeconds ?? 10;
	const rounds = opts.rounds ?? 3;
	const port = await freePort();
	const dataDir = tempDataDir();
	const keysFile = path.join(dataDir, "signing-keys.json");
	const ring = (await readOrCreateKeyRing(keysFile)).ring;
	await writePublicKeys(path.join(dataDir, "signing-keys.public.json"), ring);
	const node = startProcess("platform/runtime/start.js", {
		NODE_ENV: "production",
		PORT: String(port),
		HOST: "127.0.0.1",
		DATA_DIR: dataDir,
		AUTH_KEYS_FILE: keysFile,
		ADMIN_EMAIL: ADMIN.email,
		ADMIN_PASSWORD: ADMIN.password,
		// Every simulated player comes from this one address.
		RATE_LIMIT_PER_MINUTE: "0",
		REGISTRATIONS_PER_HOUR: "0",
		LOG_LEVEL: "warn",
	});
	const base = `http://127.0.0.1:${port}`;
	try {
		await waitForHttp(`${base}/health/ready`, 120_000);
		const admin = (await json(`${base}/api/auth/login`, { method: "POST", body: JSON.stringify(ADMIN) })).body.accessToken as string;
		const owner = (
			await json(`${base}/api/auth/register`, { method: "POST", body: JSON.stringify({ email: `${randomUUID()}@bench.example`, password: ADMIN.password, displayName: "Bench partner" }) })
		).body.accessToken as string;
		const partnerId = (await json(`${base}/api/partners`, { method: "POST", token: owner, body: JSON.stringify({ name: "Bench partner" }) })).body.id as string;
		await json(`${base}/api/partners/${partnerId}/verify`, { method: "POST", token: admin, body: "{}" });
		const hunt = await json(`${base}/api/hunts`, {
			method: "POST",
			token: owner,
			body: JSON.stringify({
				partnerId,
				title: "Bench trail",
				description: "A jog",
				tags: [],
				area: { ...START, radiusM: 5000 },
				startsAt: "2026-01-01T00:00:00Z",
				endsAt: "2099-01-01T00:00:00Z",
				visibility: "public",
			}),
		});
		const huntId = hunt.body.id as string;
		const clueIds: string[] = [];
		for (let i = 0; i < CLUES; i++) {
			const clue = await json(`${base}/api/hunts/${huntId}/clues`, {
				method: "POST",
				token: owner,
				body: JSON.stringify({ title: `Clue ${i}`, position: destination(START, i * CLUE_SPACING_M, Math.PI / 2), radiusM: 8, content: `Clue ${i}`, points: 10 }),
			});
			clueIds.push(clue.body.id as string);
		}
		await json(`${base}/api/hunts/${huntId}/paths`, { method: "PUT", token: owner, body: JSON.stringify({ paths: clueIds.slice(1).map((to, i) => ({ from: clueIds[i], to })) }) });
		const published = await json(`${base}/api/hunts/${huntId}/publish`, { method: "POST", token: owner, body: "{}" });
		if (published.status !== 200) throw new Error(`publish answered ${published.status}: ${JSON.stringify(published.body)}`);

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

		await drive(3, concurrency, ping);
		const reportRounds: Round[] = [];
		const pingRounds: Round[] = [];
		const outcomes: Record<string, number> = {};
		let errors = 0;
		for (let round = 0; round < rounds; round++) {
			pingRounds.push((await drive(duration, concurrency, ping)).round);
			const run = await drive(duration, concurrency, report);
			reportRounds.push(run.round);
			errors += run.errors;
			for (const [outcome, n] of Object.entries(run.outcomes)) outcomes[outcome] = (outcomes[outcome] ?? 0) + n;
		}
		// Discovery to leaderboard, under load: probe players each find the one clue of a hunt of their
		// own (so they top its board) while the report load runs, and the board is polled until it shows them.
		const probeHunt = await json(`${base}/api/hunts`, {
			method: "POST",
			token: owner,
			body: JSON.stringify({
				partnerId,
				title: "Probe",
				description: "One clue",
				tags: [],
				area: { ...START, radiusM: 5000 },
				startsAt: "2026-01-01T00:00:00Z",
				endsAt: "2099-01-01T00:00:00Z",
				visibility: "public",
			}),
		});
		const probeHuntId = probeHunt.body.id as string;
		await json(`${base}/api/hunts/${probeHuntId}/clues`, { method: "POST", token: owner, body: JSON.stringify({ title: "Probe", position: START, radiusM: 20, content: "Found", points: 10 }) });
		await json(`${base}/api/hunts/${probeHuntId}/publish`, { method: "POST", token: owner, body: "{}" });
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
		};
	} finally {
		await stopProcess(node);
		fs.rmSync(dataDir, { recursive: true, force: true });
	}
}
