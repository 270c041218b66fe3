/**
 * Nothing a player found is lost, and nothing is counted twice, when a gameplay node dies:
 * - a node killed (SIGKILL) after committing discoveries whose standings it could not send (the
 *   channel backend away: a TCP proxy in front of it is cut) leaves them in the gameplay outbox; the
 *   next node on the same database sends them, and every player stands on the hunt's leaderboard
 *   once, at the score their last discovery was answered with, their participation holding each
 *   discovery once;
 * - embedded channels live in the service database itself, so "the backend away" is the database
 *   away, when nothing can be discovered; there the node is killed in the middle of a burst of
 *   discoveries instead, and what the database committed is what the board shows, what each player
 *   sees of their participation, and what they play on from.
 * The shared store (leaderboards, the participations' cached copies) is Redis, used by the killed
 * node and the next one as in a cluster. (A standing delivered twice changing nothing is
 * domain/leaderboards/leaderboard.spec.ts's: the board sets a player's standing, the channel
 * handler keeps no inbox, so the store is where that is decided.)
 * Two harder kills are pinned deterministically (see each): standings sent out of order after a
 * held-back message, and a node that died between a commit and the replacement of the
 * participation's cached copy.
 */
import net from "node:net";
import { randomUUID } from "node:crypto";
import Redis from "ioredis";
import type { Service, ServiceBroker } from "moleculer";
import { STANDINGS_CHANNEL } from "../../contracts/gameplay";
import { destination, type LatLon } from "../../domain/hunts/geo";
import { Outbox } from "../../platform/outbox/outbox";
import { embeddedDatabaseDir, type SqlClient } from "../../platform/sql";
import { openPGlite } from "../../platform/sql/pglite-client";
import { backend, describeWithBackend, type BackendName } from "../support/backends";
import { httpClient, type HttpClient, type JsonResponse } from "../support/http";
import { HUNT_TEST_ENV, signInAdmin, signUp, verifiedPartner } from "../support/hunts";
import { deleteKafkaTopics } from "../support/kafka";
import { deleteNatsStreams } from "../support/nats";
import { eventually, freePort, startTestNode } from "../support/node";
import { startScript, type NodeProcess } from "../support/node-process";
import { openTestPostgres } from "../support/sql";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";
import { exclusively, KAFKA_LOCK } from "../support/exclusive";
import { channelsUnderTest, databasesUnderTest, type ChannelsUnderTest, type DatabaseUnderTest } from "../support/channel-outages";

jest.setTimeout(240_000);

const START: LatLon = { lat: 48.8566, lon: 2.3522 };
const east = (metres: number) => destination(START, metres, Math.PI / 2);
/** Players who each find both clues while the backend is away, and players of the embedded burst. */
const WALKERS = 6;
const BURST = 12;

const databases = databasesUnderTest("lootopia_gameplay");

/** Embedded on both databases; each remote backend on PostgreSQL (the outbox is the same code on PGlite). */
const cases = channelsUnderTest().flatMap(channels => databases.filter(database => channels.name === "embedded" || database.name === "PostgreSQL").map(database => ({ channels, database })));

const outboxOf = (broker: ServiceBroker, service: string) => (broker.getLocalService(service) as Service & { database: { outbox: Outbox } }).database.outbox;
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** What the killed node left unsent, read before any node runs on the database again. */
async function pendingIn(env: Record<string, string>, schema: string): Promise<number> {
	return withDatabase(env, async db => (await new Outbox(db, schema).backlog()).pending);
}

/** The database the nodes share, opened from the test (only while no node runs on it, for PGlite). */
async function withDatabase<T>(env: Record<string, string>, use: (db: SqlClient) => Promise<T>): Promise<T> {
	const db = env.DATABASE_URL ? openTestPostgres(env.DATABASE_URL) : await openPGlite(embeddedDatabaseDir(env.DATA_DIR));
	try {
		return await use(db);
	} finally {
		await db.close();
	}
}

/**
 * Freezes the node (SIGSTOP), lets what it had already sent land, and kills it (SIGKILL) once
 * `ready` holds of the database; otherwise lets it run a moment and looks again. Frozen, the node
 * cannot change what was just looked at before it dies.
 */
async function killWhen(child: NodeProcess, databaseUrl: string, ready: (db: SqlClient) => Promise<boolean>): Promise<void> {
	const db = openTestPostgres(databaseUrl);
	const deadline = Date.now() + 180_000;
	try {
		for (;;) {
			child.child.kill("SIGSTOP");
			await sleep(50);
			if (await ready(db)) break;
			if (Date.now() > deadline) throw new Error("the node never reached the state it was to be killed in");
			child.child.kill("SIGCONT");
			await sleep(20 + Math.random() * 100);
		}
	} finally {
		child.child.kill("SIGKILL");
		await db.close();
	}
}

/** Gameplay outbox messages not due now: claimed by a relay, or waiting out a backoff of their own for more than `seconds`. */
async function notDue(db: SqlClient, seconds = 0): Promise<{ claimed: number; held: number }> {
	const { rows } = await db.query<{ claimed: number; held: number }>(
		`select count(*) filter (where claimed_by is not null and available_at > now())::int as claimed,
		        count(*) filter (where claimed_by is null and available_at > now() + make_interval(secs => $1))::int as held
		   from "gameplay".outbox`,
		[seconds],
	);
	return rows[0];
}

/**
 * Kafka sends clients back to its advertised port, fixed, which outbox.test.ts's proxy listens on
 * too: one test file at a time holds it (released by the proxy's close).
 */
async function startProxy(proxied: NonNullable<ChannelsUnderTest["proxied"]>): Promise<TcpProxy> {
	const release = proxied.listenPort ? await exclusively(KAFKA_LOCK) : () => undefined;
	try {
		const proxy = await startTcpProxy({ host: proxied.host, port: proxied.port }, proxied.listenPort);
		return {
			...proxy,
			close: async () => {
				await proxy.close();
				release();
			},
		};
	} catch (err) {
		release();
		throw err;
	}
}

/**
 * Keeps a fixed port taken while the proxy on it is cut, dropping every connection: the cut node's
 * client must not reconnect through another test's proxy that took the port meanwhile.
 */
async function refuseOn(port: number): Promise<() => Promise<void>> {
	const server = net.createServer(socket => socket.destroy());
	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(port, "127.0.0.1", () => resolve());
	});
	return () => new Promise<void>(resolve => server.close(() => resolve()));
}

async function deleteStoreKeys(url: string, namespace: string): Promise<void> {
	const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
	try {
		await redis.connect();
		let cursor = "0";
		do {
			const [next, keys] = await redis.scan(cursor, "MATCH", `${namespace}*`, "COUNT", 500);
			if (keys.length) await redis.del(...keys);
			cursor = next;
		} while (cursor !== "0");
	} finally {
		redis.disconnect();
	}
}

interface Player {
	userId: string;
	token: string;
	participationId: string;
}

/** A verified partner's published two-clue trail at START (10 points, then the finish 300 m east, 20), and players who joined it. */
async function trailWithPlayers(http: HttpClient, players: number): Promise<{ huntId: string; players: Player[] }> {
	const adminToken = await signInAdmin(http);
	const owner = await signUp(http, "Owner");
	const partnerId = await verifiedPartner(http, adminToken, owner);
	const hunt = await http.post(
		"/api/hunts",
		{
			partnerId,
			title: "Trail that outlives its node",
			description: "Two places",
			tags: [],
			area: { ...START, radiusM: 2000 },
			startsAt: "2026-01-01T00:00:00Z",
			endsAt: "2099-01-01T00:00:00Z",
			visibility: "public",
			timeLimitMinutes: 240,
		},
		{ token: owner.token },
	);
	if (hunt.status !== 201) throw new Error(`hunt creation answered ${hunt.status}: ${hunt.text}`);
	const huntId: string = hunt.body.id;
	const clueIds: string[] = [];
	for (const clue of [
		{ title: "Start", position: east(0), radiusM: 25, content: "Walk east", points: 10 },
		{ title: "Finish", position: east(300), radiusM: 25, content: "The end", points: 20 },
	]) {
		const created = await http.post(`/api/hunts/${huntId}/clues`, clue, { token: owner.token });
		if (created.status !== 201) throw new Error(`clue answered ${created.status}: ${created.text}`);
		clueIds.push(created.body.id);
	}
	expect((await http.put(`/api/hunts/${huntId}/paths`, { paths: [{ from: clueIds[0], to: clueIds[1] }] }, { token: owner.token })).status).toBe(200);
	const published = await http.post(`/api/hunts/${huntId}/publish`, {}, { token: owner.token });
	if (published.status !== 200) throw new Error(`publish answered ${published.status}: ${published.text}`);
	const joined: Player[] = [];
	for (let i = 0; i < players; i++) {
		const player = await signUp(http, `Player ${i}`);
		const participation = await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token });
		if (participation.status !== 201) throw new Error(`join answered ${participation.status}: ${participation.text}`);
		joined.push({ ...player, participationId: participation.body.id });
	}
	return { huntId, players: joined };
}

/** Fixes stamped in the past from `startMinutes` on, a minute apart: a walk, never a teleport, never from the future. */
function walker(startMinutes: number) {
	let minute = startMinutes;
	return (at: LatLon) => ({ ...at, accuracy: 5, recordedAt: new Date(Date.now() + minute++ * 60_000).toISOString() });
}

const report = (http: HttpClient, player: Player, fix: ReturnType<ReturnType<typeof walker>>): Promise<JsonResponse> =>
	http.post(`/api/participations/${player.participationId}/locations`, fix, { token: player.token });

/** The board as [playerId, score] pairs, by player: a player twice would show twice. */
async function boardOf(http: HttpClient, huntId: string): Promise<Array<[string, number]>> {
	const res = await http.get(`/api/hunts/${huntId}/leaderboard?limit=100`);
	if (res.status !== 200) throw new Error(`leaderboard answered ${res.status}: ${res.text}`);
	return byPlayer((res.body.items as Array<{ playerId: string; score: number }>).map(item => [item.playerId, item.score]));
}

const byPlayer = (pairs: Array<[string, number]>) => [...pairs].sort(([a], [b]) => a.localeCompare(b));

async function waitReady(port: number, child: NodeProcess): Promise<void> {
	await eventually(
		async () => {
			if (child.child.exitCode !== null) throw new Error(`the node exited before it was ready:\n${child.output()}`);
			expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
		},
		{ timeoutMs: 90_000, intervalMs: 200 },
	);
}

for (const { channels, database } of cases) {
	const title = `gameplay durability with ${channels.name} channels on ${database.name}`;
	// Redis is the shared store in every case.
	const needs = [...new Set<BackendName>(["redis", ...(channels.name === "embedded" ? [] : [channels.name]), ...(database.backend ? [database.backend] : [])])];
	const suite = () => durabilitySuite(channels, database);
	// Nested so a missing backend names itself in the skipped title.
	const wrap = needs.reduceRight<() => void>(
		(body, name) => () => describeWithBackend(name, name, body),
		() => describe(title, suite),
	);
	wrap();
}

function durabilitySuite(channels: ChannelsUnderTest, database: (typeof databases)[number]): void {
	const namespace = `gameplay-durability-${channels.name}-${randomUUID().slice(0, 8)}`;
	let db: DatabaseUnderTest;
	const common = (channelsUrl: string) => ({
		...HUNT_TEST_ENV,
		...db.env,
		CHANNELS_URL: channelsUrl,
		STORE_URL: backend("redis").url,
		NAMESPACE: namespace,
		OUTBOX_POLL_MS: "100",
		OUTBOX_LEASE_SECONDS: "2",
	});

	beforeAll(async () => {
		db = await database.open();
	});
	afterAll(async () => {
		await db?.close();
		// Topics, streams and keys are the servers': cleaned up through the normal listeners.
		if (channels.name === "kafka") await deleteKafkaTopics(backend("kafka").url, namespace).catch(() => undefined);
		if (channels.name === "nats") await deleteNatsStreams(backend("nats").url, namespace).catch(() => undefined);
		await deleteStoreKeys(backend("redis").url, namespace).catch(() => undefined);
	});

	const proxied = channels.proxied;
	if (proxied) {
		/**
		 * A node that joined players to a two-clue trail, then lost its channel backend (the proxy cut)
		 * while each player found both clues, and was killed with their standings unsent, once what
		 * its outbox holds is `atKill`; and what each player's last discovery answered.
		 */
		const playThenKill = async (atKill: (db: SqlClient) => Promise<boolean>) => {
			const proxy = await startProxy(proxied);
			let released: (() => Promise<void>) | undefined;
			const port = await freePort();
			const child = startScript("platform/runtime/start.ts", { ...common(proxy.url(proxied.scheme)), PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "error" });
			const http = httpClient(`http://127.0.0.1:${port}`);
			/** Each player's score as the answer to their last discovery gave it. */
			const answered = new Map<string, number>();
			try {
				await waitReady(port, child);
				const { huntId, players } = await trailWithPlayers(http, WALKERS);
				// Committed but not sendable: the backend is away.
				await proxy.cut();
				if (proxied.listenPort) released = await refuseOn(proxied.listenPort);
				await Promise.all(
					players.map(async player => {
						const fix = walker(-60);
						const first = await report(http, player, fix(east(0)));
						expect({ status: first.status, outcome: first.body.outcome, score: first.body.score }).toEqual({ status: 200, outcome: "discovered", score: 10 });
						const second = await report(http, player, fix(east(300)));
						expect({ status: second.status, outcome: second.body.outcome }).toEqual({ status: 200, outcome: "completed" });
						// 30 points found and the time bonus for finishing well within the limit.
						expect(second.body.score).toBeGreaterThan(30);
						answered.set(player.userId, second.body.score);
					}),
				);
				if (child.child.exitCode !== null) throw new Error(`the node exited on its own before the kill:\n${child.output()}`);
				await killWhen(child, db.env.DATABASE_URL, atKill);
				return { huntId, players, answered };
			} finally {
				child.child.kill("SIGKILL");
				await child.exited;
				await released?.();
				await proxy.close();
			}
		};

		/** The next node, on the same database and the backend itself: every player on the board once, at their answered score, and it stays so. */
		const expectNextNodeSendsThem = async ({ huntId, players, answered }: Awaited<ReturnType<typeof playThenKill>>) => {
			const node = await startTestNode(common(proxied.direct));
			try {
				const nodeHttp = httpClient(node.baseUrl);
				const expected = byPlayer([...answered]);
				await eventually(async () => expect(await boardOf(nodeHttp, huntId)).toEqual(expected), { timeoutMs: 120_000, intervalMs: 500 });
				await eventually(async () => expect((await outboxOf(node.broker, "gameplay").backlog()).pending).toBe(0), { timeoutMs: 90_000, intervalMs: 200 });
				// The game doubled nothing either: each participation holds its two discoveries once.
				for (const player of players) {
					const view = await nodeHttp.get(`/api/participations/${player.participationId}`, { token: player.token });
					expect({ status: view.status, state: view.body.state, score: view.body.score, discovered: view.body.discovered?.length }).toEqual({
						status: 200,
						state: "completed",
						score: answered.get(player.userId),
						discovered: 2,
					});
				}
				// Settled, everything sent: later relay passes or redeliveries change nothing.
				await sleep(2000);
				expect(await boardOf(nodeHttp, huntId)).toEqual(expected);
			} finally {
				await node.stop();
			}
		};

		it("sends the standings a killed node had committed but not sent: every player on the board once, at the score they were answered", async () => {
			// Killed while every message is due: between two of the relay's failing passes, none
			// waiting out a backoff of its own (that case is the next one).
			const played = await playThenKill(async db => {
				const { claimed, held } = await notDue(db);
				return claimed === 0 && held === 0;
			});
			expect(played.answered.size).toBe(WALKERS);
			// Two standings per player, none of them sent.
			expect(await pendingIn(db.env, "gameplay")).toBeGreaterThanOrEqual(2 * WALKERS);
			await expectNextNodeSendsThem(played);
		});

		if (channels.name === "nats") {
			/*
			 * After HOLD_AFTER_ATTEMPTS failed sends, the relay gives a message a backoff of its own
			 * (platform/outbox/relay.ts) and claims later ones past it, so a player's first standing (10
			 * points) goes out after their last one (the finish). Any relay that finds the held messages
			 * not due yet does it: a restarted node (here), another node of the cluster, the same node
			 * after retryFailedNow. The leaderboards keep the newer standing (its participation version).
			 */
			it("keeps each player's latest standing when the oldest were waiting out their own backoff at the kill", async () => {
				await expectNextNodeSendsThem(await playThenKill(async db => (await notDue(db, 4)).held > 0));
			});
		}
	} else {
		it("shows what a node killed in the middle of a burst of discoveries had committed, on the board and to each player, who plays on from there", async () => {
			const port = await freePort();
			const child = startScript("platform/runtime/start.ts", { ...common("embedded://"), PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "error" });
			const http = httpClient(`http://127.0.0.1:${port}`);
			const answered = new Map<string, JsonResponse>();
			let huntId: string;
			let players: Player[];
			try {
				await waitReady(port, child);
				({ huntId, players } = await trailWithPlayers(http, BURST));
				// Requests the kill cuts short fail; what counts is what the database holds afterwards.
				for (const player of players) {
					void report(http, player, walker(-60)(east(0)))
						.then(res => answered.set(player.userId, res))
						.catch(() => undefined);
				}
				// Killed once a few discoveries were answered, with others still on their way.
				await eventually(async () => expect(answered.size).toBeGreaterThanOrEqual(3), { timeoutMs: 30_000, intervalMs: 5 });
				if (child.child.exitCode !== null) throw new Error(`the node exited on its own before the kill:\n${child.output()}`);
			} finally {
				child.child.kill("SIGKILL");
				await child.exited;
			}
			for (const res of answered.values()) expect({ status: res.status, outcome: res.body.outcome, score: res.body.score }).toEqual({ status: 200, outcome: "discovered", score: 10 });
			// What the database committed, read before any node runs on it again: an answered discovery
			// was; one the kill cut short may have been.
			const { committed, pendingAtKill } = await withDatabase(db.env, async client => ({
				committed: await committedScores(client, huntId),
				// Standings only: each discovery also tells its progress (gameplay.progress) in the same transaction.
				pendingAtKill: (await client.query<{ n: number }>(`select count(*)::int as n from gameplay.outbox where channel = $1`, [STANDINGS_CHANNEL])).rows[0].n,
			}));
			for (const player of answered.keys()) expect(committed.get(player)).toBe(10);
			// One standing per committed discovery: no more can have been left unsent.
			expect(pendingAtKill).toBeLessThanOrEqual(committed.size);

			const node = await startTestNode(common("embedded://"));
			try {
				const nodeHttp = httpClient(node.baseUrl);
				await eventually(async () => expect(await boardOf(nodeHttp, huntId)).toEqual(byPlayer([...committed])), { timeoutMs: 60_000, intervalMs: 300 });
				await eventually(async () => expect((await outboxOf(node.broker, "gameplay").backlog()).pending).toBe(0), { timeoutMs: 30_000, intervalMs: 200 });

				// Each player sees what was committed and walks on from it: one whose discovery committed
				// (answered or not) goes straight to the finish; one whose discovery never committed finds
				// the start again.
				const seen = [];
				const finished = new Map(committed);
				for (const player of players) {
					const view = await nodeHttp.get(`/api/participations/${player.participationId}`, { token: player.token });
					const fix = walker(-30);
					const found = committed.has(player.userId) ? undefined : await report(nodeHttp, player, fix(east(0)));
					const finish = await report(nodeHttp, player, fix(east(300)));
					seen.push({ player: player.userId, score: view.body.score, discovered: view.body.discovered?.length, found: found?.body.outcome, finish: finish.body.outcome });
					finished.set(player.userId, finish.body.score);
				}
				expect(seen).toEqual(
					players.map(player => ({
						player: player.userId,
						score: committed.get(player.userId) ?? 0,
						discovered: committed.has(player.userId) ? 1 : 0,
						found: committed.has(player.userId) ? undefined : "discovered",
						finish: "completed",
					})),
				);
				await eventually(async () => expect(await boardOf(nodeHttp, huntId)).toEqual(byPlayer([...finished])), { timeoutMs: 30_000, intervalMs: 300 });
				// Settled: later relay passes or redeliveries change nothing.
				await sleep(2000);
				expect(await boardOf(nodeHttp, huntId)).toEqual(byPlayer([...finished]));
			} finally {
				await node.stop();
			}
		});

		if (database.backend === "postgres") {
			/*
			 * A change takes the participation's lock in the shared store and commits only if it still
			 * holds it (PlayFlows.claimed → ParticipationCache.stillHeld). With the store gone while
			 * changes wait inside their transactions, none can tell: each rolls back and its player is
			 * answered with an error, so nothing is committed that the player was not told of, and after
			 * the node died (its locks lapse) every player finds the clue again and plays on. Pinned
			 * without timing luck: the outbox table is locked so the reports wait inside their
			 * transactions, the node's store is cut, the lock released. (A node dying between a commit
			 * and its copy's replacement is participation-cache.spec.ts's.)
			 */
			it("commits no discovery it could not tell its player of when the shared store went away, and lets them play on after the node died", async () => {
				const store = backend("redis");
				const storeProxy = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(store.url).port) });
				const port = await freePort();
				const child = startScript("platform/runtime/start.ts", {
					...common("embedded://"),
					STORE_URL: storeProxy.url("redis"),
					PORT: String(port),
					HOST: "127.0.0.1",
					LOG_LEVEL: "error",
				});
				const http = httpClient(`http://127.0.0.1:${port}`);
				const locker = openTestPostgres(db.env.DATABASE_URL);
				let huntId: string;
				let players: Player[];
				try {
					await waitReady(port, child);
					({ huntId, players } = await trailWithPlayers(http, 4));
					let unlock!: () => void;
					const unlocked = new Promise<void>(resolve => (unlock = resolve));
					let locked!: () => void;
					const lockTaken = new Promise<void>(resolve => (locked = resolve));
					const holding = locker.transaction(async tx => {
						await tx.query(`lock table "gameplay".outbox in exclusive mode`);
						locked();
						await unlocked;
					});
					await lockTaken;
					const answers = players.map(player => report(http, player, walker(-60)(east(0))).catch(() => undefined));
					// Every report inside its transaction, its copy claimed, waiting to write its standing.
					await eventually(
						async () => {
							const { rows } = await locker.query<{ n: number }>(
								`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like 'insert into "gameplay".outbox%'`,
							);
							expect(rows[0].n).toBe(players.length);
						},
						{ timeoutMs: 30_000, intervalMs: 20 },
					);
					await storeProxy.cut();
					unlock();
					await holding;
					const statuses = (await Promise.all(answers)).map(res => res?.status);
					expect(statuses.every(status => status === undefined || status >= 500)).toBe(true);
					expect((await committedScores(locker, huntId)).size).toBe(0);
				} finally {
					child.child.kill("SIGKILL");
					await child.exited;
					await storeProxy.close();
					await locker.close();
				}

				const node = await startTestNode(common("embedded://"));
				try {
					const nodeHttp = httpClient(node.baseUrl);
					const seen = [];
					for (const player of players) {
						// Waits out the dead node's lock, then reads the row.
						const view = await nodeHttp.get(`/api/participations/${player.participationId}`, { token: player.token });
						const fix = walker(-30);
						const found = await report(nodeHttp, player, fix(east(0)));
						const finish = await report(nodeHttp, player, fix(east(300)));
						seen.push({ score: view.body.score, discovered: view.body.discovered?.length, found: found.body.outcome, finish: finish.body.outcome });
					}
					expect(seen).toEqual(players.map(() => ({ score: 0, discovered: 0, found: "discovered", finish: "completed" })));
				} finally {
					await node.stop();
				}
			});
		}
	}
}

/** Player → score of each participation in the hunt with a discovery committed. */
async function committedScores(db: SqlClient, huntId: string): Promise<Map<string, number>> {
	const { rows } = await db.query<{ player_id: string; score: number }>(`select player_id, score from "gameplay".participations where hunt_id = $1 and score > 0`, [huntId]);
	return new Map(rows.map(row => [row.player_id, row.score]));
}
