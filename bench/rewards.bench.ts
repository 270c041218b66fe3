/**
 * Reward claims through the gateway (BENCH_ONLY=rewards): 200 signed-in finishers of a published
 * hunt claim one reward at once, a fresh reward each round, its stock half their number, so every
 * round has winners and refusals (REWARD_EXHAUSTED) as a real sponsored drop would. Each claim is
 * the whole flow: eligibility from the hunt's participations, the stock reserved, the code issued
 * with its audit fact and notification. Reported: claims/s (answered claims per second of a round,
 * both kinds), p50/p99, how many codes each round gave (it must be the stock: never more), and the
 * gateway's GET /api/ping at the same concurrency in the same run as the baseline.
 */
import { randomUUID } from "node:crypto";
import { signAccessToken } from "../platform/identity/tokens";
import { median, startEmbeddedNode } from "./support";

const ADMIN = { email: "bench-admin@lootopia.example", password: "bench admin passphrase 1" };
const AT = { lat: 45.76, lon: 4.83 };

export interface RewardsBenchResult {
	setup: string;
	clients: number;
	rounds: number;
	stockPerRound: number;
	claims: { perSecond: number; p50Ms: number; p99Ms: number };
	/** Codes each round gave: each must equal the stock. */
	codesPerRound: number[];
	refusedPerRound: number[];
	errors: number;
	ping: { perSecond: number; p50Ms: number; p99Ms: number };
	ratio: number;
}

function percentile(sorted: number[], p: number): number {
	return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : 0;
}

async function json(url: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
	const res = await fetch(url, {
		method: init.method ?? "GET",
		headers: { "Content-Type": "application/json", ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}) },
		...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
	});
	return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Every client sends one request at once; resolves each one's status and time. */
async function burst(requests: Array<() => Promise<number>>): Promise<{ statuses: number[]; latencies: number[]; elapsedMs: number }> {
	const started = performance.now();
	const timed = await Promise.all(
		requests.map(async send => {
			const sent = performance.now();
			const status = await send().catch(() => 0);
			return { status, ms: performance.now() - sent };
		}),
	);
	return { statuses: timed.map(t => t.status), latencies: timed.map(t => t.ms), elapsedMs: performance.now() - started };
}

export async function benchRewards(opts: { clients?: number; rounds?: number } = {}): Promise<RewardsBenchResult> {
	const clients = opts.clients ?? 200;
	const rounds = opts.rounds ?? 5;
	const stock = Math.floor(clients / 2);
	const node = await startEmbeddedNode({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, ACCESS_TOKEN_TTL_SECONDS: "3600" });
	try {
		const { base, ring } = node;
		const admin = (await json(`${base}/api/auth/login`, { method: "POST", body: ADMIN })).body.accessToken as string;
		const owner = (await json(`${base}/api/auth/register`, { method: "POST", body: { email: `${randomUUID()}@bench.example`, password: ADMIN.password, displayName: "Bench sponsor" } })).body
			.accessToken as string;
		const partnerId = (await json(`${base}/api/partners`, { method: "POST", token: owner, body: { name: "Bench sponsor" } })).body.id as string;
		await json(`${base}/api/partners/${partnerId}/verify`, { method: "POST", token: admin, body: {} });
		const hunt = await json(`${base}/api/hunts`, {
			method: "POST",
			token: owner,
			body: {
				partnerId,
				title: "Bench drop",
				description: "One clue",
				tags: [],
				area: { ...AT, radiusM: 1000 },
				startsAt: "2026-01-01T00:00:00Z",
				endsAt: "2099-01-01T00:00:00Z",
				visibility: "public",
			},
		});
		const huntId = hunt.body.id as string;
		await json(`${base}/api/hunts/${huntId}/clues`, { method: "POST", token: owner, body: { title: "Here", position: AT, radiusM: 20, content: "Found", points: 10 } });
		const published = await json(`${base}/api/hunts/${huntId}/publish`, { method: "POST", token: owner, body: {} });
		if (published.status !== 200) throw new Error(`publish answered ${published.status}`);

		// Finishers, signed in with tokens made from the node's keys.
		const settings = { issuer: "lootopia", audience: "lootopia-api", accessTtlSeconds: 3600 };
		const players: string[] = [];
		for (let i = 0; i < clients; i++) {
			const token = await signAccessToken(ring, { sub: randomUUID(), roles: ["player"], partners: {}, sid: randomUUID() }, settings);
			const joined = await json(`${base}/api/hunts/${huntId}/join`, { method: "POST", token, body: {} });
			const report = await json(`${base}/api/participations/${joined.body.id as string}/locations`, { method: "POST", token, body: { ...AT, accuracy: 5, recordedAt: new Date().toISOString() } });
			if (report.body.outcome !== "completed") throw new Error(`a bench player did not finish: ${JSON.stringify(report.body)}`);
			players.push(token);
		}

		const claimLatencies: number[] = [];
		const pingLatencies: number[] = [];
		const claimRates: number[] = [];
		const pingRates: number[] = [];
		const codesPerRound: number[] = [];
		const refusedPerRound: number[] = [];
		let errors = 0;
		// One warm-up round of each, not counted.
		for (let round = -1; round < rounds; round++) {
			const reward = await json(`${base}/api/hunts/${huntId}/rewards`, { method: "POST", token: owner, body: { title: `Drop ${round}`, stock, rule: { kind: "all_finishers" } } });
			const claims = await burst(
				players.map(token => async () => {
					const res = await fetch(`${base}/api/rewards/${reward.body.id as string}/claim`, {
						method: "POST",
						headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
						body: "{}",
					});
					await res.arrayBuffer();
					return res.status;
				}),
			);
			const pings = await burst(
				players.map(() => async () => {
					const res = await fetch(`${base}/api/ping`);
					await res.arrayBuffer();
					return res.status;
				}),
			);
			if (round < 0) continue;
			codesPerRound.push(claims.statuses.filter(status => status === 201).length);
			refusedPerRound.push(claims.statuses.filter(status => status === 409).length);
			errors += claims.statuses.filter(status => status !== 201 && status !== 409).length;
			claimLatencies.push(...claims.latencies);
			pingLatencies.push(...pings.latencies);
			claimRates.push((clients / claims.elapsedMs) * 1000);
			pingRates.push((clients / pings.elapsedMs) * 1000);
		}
		claimLatencies.sort((a, b) => a - b);
		pingLatencies.sort((a, b) => a - b);
		const round1 = (value: number) => Math.round(value * 10) / 10;
		const claims = { perSecond: Math.round(median(claimRates)), p50Ms: round1(percentile(claimLatencies, 0.5)), p99Ms: round1(percentile(claimLatencies, 0.99)) };
		const ping = { perSecond: Math.round(median(pingRates)), p50Ms: round1(percentile(pingLatencies, 0.5)), p99Ms: round1(percentile(pingLatencies, 0.99)) };
		return {
			setup: "one node, every service, PGlite, channels on its SQL log",
			clients,
			rounds,
			stockPerRound: stock,
			claims,
			codesPerRound,
			refusedPerRound,
			errors,
			ping,
			ratio: Math.round((claims.perSecond / ping.perSecond) * 100) / 100,
		};
	} finally {
		await node.stop();
	}
}
