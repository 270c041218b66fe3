/**
 * What identity costs, measured in one run so the numbers can be compared with each other:
 *
 * - the hash bound: argon2id `verifyPassword` throughput at the concurrency the server sees, and the
 *   latency of one hash alone. A login can never be faster than this;
 * - logins/s through the gateway (correct passwords, several accounts) and how close that comes to
 *   the hash bound (rounds alternate with the hash rounds so machine noise hits both);
 * - an authenticated request against an anonymous one: `GET /api/ping` without and with a bearer
 *   token (the gateway verifies it and looks up revocation), and `GET /api/users/me` (a guarded
 *   action reading its database), in alternating rounds like gateway.bench.
 *
 * The node runs in a child process (production settings, embedded backends) so the load generator
 * and the raw hashing here never share its event loop or thread pool.
 */
import fs from "node:fs";
import { randomBytes } from "node:crypto";
import autocannon from "autocannon";
import { hashPassword, verifyPassword } from "../domain/auth/passwords";
import { median, startEmbeddedNode, waitForRoute } from "./support";

export interface IdentityBenchOptions {
	/** Seconds per measured round of every kind. */
	durationSeconds?: number;
	rounds?: number;
	/** Concurrent logins, and concurrent raw hashes: the same, so the two are comparable. */
	loginConcurrency?: number;
	/** Connections for the ping / me comparison (as gateway.bench). */
	connections?: number;
	/** Distinct accounts the logins rotate over. */
	accounts?: number;
}

export interface Throughput {
	requestsPerSecond: number;
	p50Ms: number;
	p99Ms: number;
}

/** Medians over the rounds, with each round's req/s kept to show the noise. */
export interface Summary extends Throughput {
	perRound: number[];
}

export interface IdentityBenchResult {
	durationSeconds: number;
	rounds: number;
	threadPoolSize: number;
	hashing: {
		/** One verifyPassword at a time. */
		single: { p50Ms: number; p99Ms: number; samples: number };
		/** verifyPassword with `concurrency` in flight, in this process with the server idle. */
		concurrent: { concurrency: number; hashesPerSecond: number; p50Ms: number; p99Ms: number; perRound: number[] };
	};
	login: { concurrency: number; accounts: number; loginsPerSecond: number; p50Ms: number; p99Ms: number; perRound: number[]; ratioToHashBound: number };
	authenticated: {
		connections: number;
		anonymousPing: Summary;
		authenticatedPing: Summary;
		usersMe: Summary;
		/** authenticated req/s ÷ anonymous req/s. */
		ratioPing: number;
		ratioUsersMe: number;
		/** Extra time per request at saturation, from throughput: 1e6/rps(auth) − 1e6/rps(anon). */
		extraMicrosPerRequestPing: number;
		extraMicrosPerRequestUsersMe: number;
	};
}

function percentile(values: number[], p: number): number {
	if (!values.length) return NaN;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round2 = (value: number) => Math.round(value * 100) / 100;
const round3 = (value: number) => Math.round(value * 1000) / 1000;

async function hashSingle(encoded: string, password: string, samples: number) {
	const latencies: number[] = [];
	for (let i = 0; i < samples; i++) {
		const started = performance.now();
		if (!(await verifyPassword(password, encoded))) throw new Error("verifyPassword rejected the right password");
		latencies.push(performance.now() - started);
	}
	return { p50Ms: round2(percentile(latencies, 50)), p99Ms: round2(percentile(latencies, 99)), samples };
}

/** Closed loop like autocannon's: `concurrency` hashes always in flight for `seconds`. */
async function hashConcurrent(encoded: string, password: string, concurrency: number, seconds: number) {
	const latencies: number[] = [];
	const started = performance.now();
	const deadline = started + seconds * 1000;
	let finishedAt = started;
	await Promise.all(
		Array.from({ length: concurrency }, async () => {
			while (performance.now() < deadline) {
				const t0 = performance.now();
				if (!(await verifyPassword(password, encoded))) throw new Error("verifyPassword rejected the right password");
				finishedAt = performance.now();
				latencies.push(finishedAt - t0);
			}
		}),
	);
	return { hashesPerSecond: latencies.length / ((finishedAt - started) / 1000), p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

type RequestShaper = (request: autocannon.Request) => autocannon.Request;

async function load(url: string, connections: number, duration: number, shape: RequestShaper, method: "GET" | "POST" = "GET"): Promise<Throughput> {
	const result = await autocannon({
		url,
		connections,
		duration,
		pipelining: 1,
		requests: [{ method, setupRequest: shape }],
	});
	if (result.non2xx > 0 || result.errors > 0) throw new Error(`${method} ${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
	return { requestsPerSecond: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99 };
}

/** Round-robin over `items`: each request of the run takes the next one. */
function rotating<T>(items: T[]): () => T {
	let next = 0;
	return () => items[next++ % items.length];
}

/** CPU ticks (user + system) the process has used so far. */
function cpuTicks(pid: number): number {
	const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
	// Fields after the parenthesised command name; utime and stime are fields 14 and 15.
	const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
	return Number(fields[11]) + Number(fields[12]);
}

/**
 * Logins leave work behind (audit facts drained from the durable log); measuring while the node is
 * still busy with it would charge that to whatever runs next, so wait until it is quiet.
 */
async function waitUntilQuiet(pid: number, timeoutMs = 30_000): Promise<void> {
	const deadline = performance.now() + timeoutMs;
	let before = cpuTicks(pid);
	while (performance.now() < deadline) {
		await new Promise(resolve => setTimeout(resolve, 500));
		const now = cpuTicks(pid);
		// Under 10% of one core over half a second (ticks are 1/100 s).
		if (now - before < 5) return;
		before = now;
	}
}

async function postJson(url: string, body: unknown, expected: number): Promise<Record<string, unknown>> {
	const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
	const text = await res.text();
	if (res.status !== expected) throw new Error(`POST ${url}: ${res.status} ${text}`);
	return JSON.parse(text) as Record<string, unknown>;
}

async function expectStatus(url: string, headers: Record<string, string>, expected: number): Promise<void> {
	const res = await fetch(url, { headers });
	await res.arrayBuffer();
	if (res.status !== expected) throw new Error(`GET ${url} with ${Object.keys(headers).join(", ") || "no headers"}: ${res.status}, expected ${expected}`);
}

const summarise = (runs: Throughput[]): Summary => ({
	requestsPerSecond: Math.round(median(runs.map(r => r.requestsPerSecond))),
	p50Ms: median(runs.map(r => r.p50Ms)),
	p99Ms: median(runs.map(r => r.p99Ms)),
	perRound: runs.map(r => Math.round(r.requestsPerSecond)),
});

export async function benchIdentity(opts: IdentityBenchOptions = {}): Promise<IdentityBenchResult> {
	const duration = opts.durationSeconds ?? 4;
	const rounds = opts.rounds ?? 3;
	const loginConcurrency = opts.loginConcurrency ?? 8;
	const connections = opts.connections ?? 50;
	const accountCount = opts.accounts ?? 16;
	// The child inherits our environment, so both hash on a pool of the same size.
	const threadPoolSize = Number(process.env.UV_THREADPOOL_SIZE || 4);

	// The longest allowed token life, so tokens outlive long BENCH_DURATION runs.
	const node = await startEmbeddedNode({ ACCESS_TOKEN_TTL_SECONDS: "3600" });
	try {
		const { base } = node;
		// Ready can come before every service's routes are mapped (the gateway regenerates its aliases
		// as services register), so also wait for the routes used here.
		await waitForRoute(`${base}/api/auth/jwks`, 200);
		await waitForRoute(`${base}/api/users/me`, 401);

		// Distinct accounts: login state (throttle keys, sessions) is per account, as in real traffic.
		const runId = randomBytes(4).toString("hex");
		const accounts = Array.from({ length: accountCount }, (_, i) => ({
			email: `bench-${runId}-${i}@example.com`,
			password: `Qz${randomBytes(12).toString("hex")}!`,
		}));
		const tokens: string[] = [];
		for (let i = 0; i < accounts.length; i += loginConcurrency) {
			const batch = accounts.slice(i, i + loginConcurrency);
			const registered = await Promise.all(batch.map((account, j) => postJson(`${base}/api/auth/register`, { ...account, displayName: `Bench ${i + j}` }, 201)));
			for (const body of registered) tokens.push(String(body.accessToken));
		}
		// The gateway verifies a token on an open route too (one it cannot verify counts as none there,
		// so a client with a broken token can still sign in again), and refuses it on a guarded one.
		await expectStatus(`${base}/api/ping`, { authorization: `Bearer ${tokens[0]}` }, 200);
		await expectStatus(`${base}/api/ping`, { authorization: `Bearer ${tokens[0]}x` }, 200);
		await expectStatus(`${base}/api/users/me`, { authorization: `Bearer ${tokens[0]}` }, 200);
		await expectStatus(`${base}/api/users/me`, { authorization: `Bearer ${tokens[0]}x` }, 401);
		await expectStatus(`${base}/api/users/me`, {}, 401);

		// Raw hashing in this process against a hash made with the server's parameters.
		const hashPasswordText = accounts[0].password;
		const encoded = await hashPassword(hashPasswordText);
		await hashConcurrent(encoded, hashPasswordText, loginConcurrency, 1);
		const single = await hashSingle(encoded, hashPasswordText, Math.max(10, Math.min(50, duration * 10)));

		const nextAccount = rotating(accounts);
		const loginShape: RequestShaper = request => ({
			...request,
			headers: { ...request.headers, "content-type": "application/json" },
			body: JSON.stringify(nextAccount()),
		});
		const loginUrl = `${base}/api/auth/login`;
		await load(loginUrl, loginConcurrency, 2, loginShape, "POST");
		await waitUntilQuiet(node.child.pid!);

		const hashRuns: Array<{ hashesPerSecond: number; p50Ms: number; p99Ms: number }> = [];
		const loginRuns: Throughput[] = [];
		for (let round = 0; round < rounds; round++) {
			hashRuns.push(await hashConcurrent(encoded, hashPasswordText, loginConcurrency, duration));
			loginRuns.push(await load(loginUrl, loginConcurrency, duration, loginShape, "POST"));
			await waitUntilQuiet(node.child.pid!);
		}

		const nextToken = rotating(tokens);
		// Both shapes run through setupRequest so the client does the same work either way.
		const anonymous: RequestShaper = request => request;
		const bearer: RequestShaper = request => ({ ...request, headers: { ...request.headers, authorization: `Bearer ${nextToken()}` } });
		const pingUrl = `${base}/api/ping`;
		const meUrl = `${base}/api/users/me`;
		await load(pingUrl, connections, 2, anonymous);
		await load(pingUrl, connections, 2, bearer);
		await load(meUrl, connections, 2, bearer);

		const anonRuns: Throughput[] = [];
		const authRuns: Throughput[] = [];
		const meRuns: Throughput[] = [];
		for (let round = 0; round < rounds; round++) {
			anonRuns.push(await load(pingUrl, connections, duration, anonymous));
			authRuns.push(await load(pingUrl, connections, duration, bearer));
			meRuns.push(await load(meUrl, connections, duration, bearer));
		}

		const hashesPerSecond = median(hashRuns.map(r => r.hashesPerSecond));
		const login = summarise(loginRuns);
		const anon = summarise(anonRuns);
		const auth = summarise(authRuns);
		const me = summarise(meRuns);
		const extraMicros = (slower: Throughput) => Math.round(1e6 / slower.requestsPerSecond - 1e6 / anon.requestsPerSecond);
		return {
			durationSeconds: duration,
			rounds,
			threadPoolSize,
			hashing: {
				single,
				concurrent: {
					concurrency: loginConcurrency,
					hashesPerSecond: round2(hashesPerSecond),
					p50Ms: round2(median(hashRuns.map(r => r.p50Ms))),
					p99Ms: round2(median(hashRuns.map(r => r.p99Ms))),
					perRound: hashRuns.map(r => round2(r.hashesPerSecond)),
				},
			},
			login: {
				concurrency: loginConcurrency,
				accounts: accountCount,
				// Tens per second: the average of autocannon's per-second samples, kept with decimals.
				loginsPerSecond: round2(median(loginRuns.map(r => r.requestsPerSecond))),
				p50Ms: login.p50Ms,
				p99Ms: login.p99Ms,
				perRound: loginRuns.map(r => round2(r.requestsPerSecond)),
				ratioToHashBound: round3(median(loginRuns.map(r => r.requestsPerSecond)) / hashesPerSecond),
			},
			authenticated: {
				connections,
				anonymousPing: anon,
				authenticatedPing: auth,
				usersMe: me,
				ratioPing: round3(auth.requestsPerSecond / anon.requestsPerSecond),
				ratioUsersMe: round3(me.requestsPerSecond / anon.requestsPerSecond),
				extraMicrosPerRequestPing: extraMicros(auth),
				extraMicrosPerRequestUsersMe: extraMicros(me),
			},
		};
	} finally {
		await node.stop();
	}
}
