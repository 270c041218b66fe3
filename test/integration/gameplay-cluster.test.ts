/**
 * Play on two gameplay nodes over NATS and one PostgreSQL, reports landing on either node: what one
 * node accepted, the other measures from (a teleport between nodes is flagged), concurrent reports
 * on both make one discovery, and no fix is forgotten when they race. With Redis as the shared
 * store, a report that changes nothing writes nothing to the database; with a store per node
 * (memory), the database is where nodes agree.
 */
import path from "node:path";
import { randomUUID } from "node:crypto";
import { DEV_KEYS_FILE } from "../../platform/identity/key-store";
import { destination, type LatLon } from "../../domain/hunts/geo";
import { fixFingerprint } from "../../domain/gameplay/anti-cheat/replayed-fix";
import { nodeBackends } from "../../platform/runtime/node-backends";
import { backend, describeWithBackend } from "../support/backends";
import { httpClient, type HttpClient } from "../support/http";
import { HUNT_TEST_ENV, publishedHunt, signInAdmin, signUp, verifiedPartner } from "../support/hunts";
import { deleteNatsStreams } from "../support/nats";
import { eventually, startTestNode, type TestNode } from "../support/node";
import { openTestPostgres, scratchDatabase } from "../support/sql";

jest.setTimeout(120_000);

const START: LatLon = { lat: 48.8566, lon: 2.3522 };
const WEST = -Math.PI / 2;
const GAMEPLAY_NODES = ["gameplay-a", "gameplay-b"];

describeWithBackend("nats", "gameplay on two nodes", nats => {
	for (const store of ["redis", "memory"] as const) {
		const describeStore = store === "redis" ? describeWithBackend : (_: string, title: string, body: () => void) => describe(title, body);
		describeWithBackend("postgres", `with ${store === "redis" ? "Redis as the shared store" : "a memory store per node"}`, postgres =>
			describeStore("redis", "and PostgreSQL", () => {
				const namespace = `gameplay-cluster-${randomUUID().slice(0, 8)}`;
				let database: Awaited<ReturnType<typeof scratchDatabase>>;
				let gateway: TestNode;
				const players: TestNode[] = [];
				let http: HttpClient;
				let sql: ReturnType<typeof openTestPostgres>;

				beforeAll(async () => {
					database = await scratchDatabase(postgres.url, "lootopia_play");
					const common = {
						...HUNT_TEST_ENV,
						NAMESPACE: namespace,
						TRANSPORTER: nats.url,
						DATABASE_URL: database.url,
						CHANNELS_URL: nats.url,
						STORE_URL: store === "redis" ? backend("redis").url : "memory://",
					};
					gateway = await startTestNode({ ...common, NODE_ID: `${namespace}-gateway`, SERVICES: "api,auth,users,partners,audit,hunts,geo,leaderboards" }, { waitReady: false });
					// Gameplay calls the hunts service as itself: with the key ring the cluster trusts.
					const keys = { AUTH_KEYS_FILE: path.join(gateway.dataDir, DEV_KEYS_FILE) };
					for (const name of GAMEPLAY_NODES) players.push(await startTestNode({ ...common, ...keys, NODE_ID: `${namespace}-${name}`, SERVICES: "gameplay" }));
					await gateway.broker.waitForServices(["gameplay", "hunts", "auth"], 30_000);
					// Both gameplay nodes known to the gateway before any call is balanced between them.
					await eventually(async () => expect(gameplayNodesSeenBy(gateway)).toHaveLength(2), { timeoutMs: 20_000 });
					http = httpClient(gateway.baseUrl);
					await eventually(async () => expect((await fetch(`${gateway.baseUrl}/health/ready`)).status).toBe(200), { timeoutMs: 30_000, intervalMs: 200 });
					sql = openTestPostgres(database.url);
				}, 120_000);

				afterAll(async () => {
					for (const node of [...players, gateway].filter(Boolean)) await node.stop();
					await sql?.close();
					await database?.drop();
					await deleteNatsStreams(nats.url, namespace).catch(() => undefined);
				});

				function gameplayNodesSeenBy(node: TestNode): string[] {
					const list = node.broker.registry.getNodeList({ onlyAvailable: true, withServices: true }) as unknown as Array<{ id: string; services: Array<{ name: string }> }>;
					return list.filter(n => n.services.some(s => s.name === "gameplay")).map(n => n.id);
				}

				/** A report sent to one gameplay node in particular, as the gateway would forward it. */
				function reportOn(node: number, token: string, id: string, fix: { lat: number; lon: number; accuracy: number; recordedAt: string }) {
					return gateway.broker.call<{ outcome: string; score: number; flags?: string[] }, Record<string, unknown>>(
						"gameplay.report",
						{ id, ...fix },
						{ nodeID: `${namespace}-${GAMEPLAY_NODES[node]}`, meta: { accessToken: token } },
					);
				}

				async function rowOf(id: string): Promise<{ version: number; recent: string[] }> {
					const found = await sql.query<{ version: number; fix_history: { recent: string[] } }>(`select version, fix_history from gameplay.participations where id = $1`, [id]);
					return { version: found.rows[0].version, recent: found.rows[0].fix_history.recent };
				}

				async function joinedPlayer(): Promise<{ huntId: string; id: string; token: string }> {
					const admin = await signInAdmin(http);
					const owner = await signUp(http, "Owner");
					const partnerId = await verifiedPartner(http, admin, owner);
					const huntId = await publishedHunt(http, owner, partnerId, "Across nodes", START);
					const player = await signUp(http, `Player ${randomUUID().slice(0, 4)}`);
					const joined = await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token });
					expect(joined.status).toBe(201);
					return { huntId, id: joined.body.id, token: player.token };
				}

				const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

				it("measures a fix on one node from the one the other node accepted, and flags a teleport between them", async () => {
					const { id, token } = await joinedPlayer();
					const before = await rowOf(id);
					const away = destination(START, 500, WEST);
					expect(await reportOn(0, token, id, { ...away, accuracy: 5, recordedAt: minutesAgo(10) })).toEqual({ outcome: "nothing", score: 0 });
					const walked = destination(START, 450, WEST);
					expect(await reportOn(1, token, id, { ...walked, accuracy: 5, recordedAt: minutesAgo(9) })).toEqual({ outcome: "nothing", score: 0 });
					const after = await rowOf(id);
					if (store === "redis") {
						// Nothing changed but the anti-cheat memory: kept in the shared store, not the database.
						expect(after.version).toBe(before.version);
					} else {
						expect(after.version).toBe(before.version + 2);
						expect(after.recent).toHaveLength(2);
					}
					// 50 km in a minute, sent to the node that did not see the last fix.
					const teleport = await reportOn(0, token, id, { ...destination(START, 50_000, WEST), accuracy: 5, recordedAt: minutesAgo(8) });
					expect(teleport).toEqual({ outcome: "flagged", flags: ["IMPOSSIBLE_SPEED"], score: 0 });
					// A flag is a change: stored, with the memory of every fix before it.
					const flagged = await rowOf(id);
					expect(flagged.version).toBeGreaterThan(after.version);
					expect(flagged.recent).toHaveLength(3);
				});

				it("makes one discovery and one score of the same fix sent to both nodes at once", async () => {
					const { huntId, id, token } = await joinedPlayer();
					const fix = { ...START, accuracy: 5, recordedAt: minutesAgo(1) };
					const settled = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => reportOn(i % 2, token, id, fix)));
					const answers = settled.flatMap(result => (result.status === "fulfilled" ? [result.value] : []));
					expect(answers.filter(answer => answer.outcome === "completed")).toHaveLength(1);
					// The others are the same fix again: a client's retry, answered "nothing" while the hunt
					// was still being completed, and refused as a finished participation's once it was.
					expect(answers.filter(answer => answer.outcome !== "completed").every(answer => answer.outcome === "nothing")).toBe(true);
					for (const result of settled) if (result.status === "rejected") expect(result.reason).toMatchObject({ type: "PARTICIPATION_STATE", code: 409 });
					const completed = answers.find(answer => answer.outcome === "completed")!;
					expect(completed.score).toBeGreaterThan(10);
					const discoveries = await sql.query<{ n: number }>(`select count(*)::int as n from gameplay.discoveries where participation_id = $1`, [id]);
					expect(discoveries.rows[0].n).toBe(1);
					const view = await http.get(`/api/participations/${id}`, { token });
					expect(view.body).toMatchObject({ state: "completed", score: completed.score });
					const board = await eventually(async () => {
						const items = (await http.get(`/api/hunts/${huntId}/leaderboard`)).body.items;
						expect(items).toHaveLength(1);
						return items;
					});
					expect(board[0].score).toBe(view.body.score);
				});

				it("remembers every fix of a burst that races across both nodes", async () => {
					const { id, token } = await joinedPlayer();
					// A second apart, a metre apart, within each other's accuracy: sent at once, they are decided
					// in whatever order they land (one landing after a newer one goes back in time: flagged).
					const fixes = Array.from({ length: 8 }, (_, i) => ({ ...destination(START, 800 + i, WEST), accuracy: 10, recordedAt: new Date(Date.now() - 300_000 + i * 1000).toISOString() }));
					const settled = await Promise.allSettled(fixes.map((fix, i) => reportOn(i % 2, token, id, fix)));
					const answered = fixes.filter((_, i) => settled[i].status === "fulfilled");
					// Refused only once the flags suspended the participation.
					for (const result of settled) if (result.status === "rejected") expect(result.reason).toMatchObject({ type: "PARTICIPATION_STATE", data: { state: "suspended" } });
					expect(answered.length).toBeGreaterThanOrEqual(3);
					const cached = store === "redis" ? await nodeBackends(players[0].broker).keyValueStore().get(`play:participation:${id}`) : null;
					const remembered = cached ? (JSON.parse(cached) as { history: { recent: string[] } }).history.recent : (await rowOf(id)).recent;
					// Each fix decided is in the replay memory: no node's write-back overwrote another's.
					const decided = answered.map(fix => fixFingerprint({ ...fix, recordedAt: Date.parse(fix.recordedAt) }));
					expect([...remembered].sort()).toEqual([...decided].sort());
				});
			}),
		);
	}
});
