/**
 * Play through HTTP on a real node: joining (window, capacity under concurrent joins, join codes,
 * one participation per player), walking a hunt with the server deciding every discovery, answers
 * (rate-limited), hints (costing points), completion with its time bonus, and cheating that does
 * not pay: flagged fixes discover nothing and repeated flags suspend the participation.
 */
import { randomUUID } from "node:crypto";
import { destination, type LatLon } from "../../domain/hunts/geo";
import { expectError, httpClient, type HttpClient } from "../support/http";
import { eventually, startTestNode, type TestNode } from "../support/node";
import { nodeBackends } from "../../platform/runtime/node-backends";
import { leaderboardRows } from "../../services/leaderboards.repl";
import { huntPlayReport, participationReport, reviewRows } from "../../services/gameplay.repl";
import { asOperator } from "../../platform/runtime/repl-kit";
import { HUNT_TEST_ENV, publishedHunt, publishedTrail, signInAdmin, signUp, verifiedPartner } from "../support/hunts";

let node: TestNode;
let http: HttpClient;
let owner: { userId: string; token: string };
let partnerId: string;
let adminToken: string;

const START: LatLon = { lat: 45.764, lon: 4.8357 };
const EAST = Math.PI / 2;
const east = (metres: number) => destination(START, metres, EAST);

beforeAll(async () => {
	// Sweeping every second, so a test sees an idle participation closed without waiting long.
	node = await startTestNode({ ...HUNT_TEST_ENV, PLAY_CLOSING_SWEEP_SECONDS: "1" });
	http = httpClient(node.baseUrl);
	adminToken = await signInAdmin(http);
	owner = await signUp(http, "Owner");
	partnerId = await verifiedPartner(http, adminToken, owner);
}, 60_000);
afterAll(() => node?.stop());

/** The three-clue trail east of START (test/support/hunts.ts). */
const trail = (extra: Record<string, unknown> = {}) => publishedTrail(http, owner, partnerId, START, extra);

/** Fixes stamped in the past, a minute apart: a walk, never a teleport, never from the future. */
function walker(startMinutesAgo = 60) {
	let minute = -startMinutesAgo;
	return (at: LatLon, accuracy = 8) => ({ ...at, accuracy, recordedAt: new Date(Date.now() + minute++ * 60_000).toISOString() });
}

it("walks a hunt: the server decides each discovery, challenges open the way, hints cost points, the finish completes it", async () => {
	const { huntId, clueIds, answer } = await trail();
	const player = await signUp(http, "Walker");
	const joined = await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token });
	expect(joined.status).toBe(201);
	expect(joined.headers.get("location")).toBe(`/api/participations/${joined.body.id}`);
	expect(joined.body).toMatchObject({ huntId, playerId: player.userId, state: "active", score: 0, discovered: [], targets: [{ clueId: clueIds[0], zone: { radiusM: expect.any(Number) } }] });
	// The search zone, never the place: neither coordinate appears as a value.
	for (const coordinate of [START.lat, START.lon]) expect(JSON.stringify(joined.body)).not.toMatch(new RegExp(`[:,\\[]${String(coordinate).replace(".", "\\.")}[,}\\]]`));
	const id = joined.body.id;
	expectError(await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token }), 409, "ALREADY_JOINED");
	expect((await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token })).body.error.details).toEqual({ participationId: id });

	const fix = walker();
	const report = (at: LatLon, accuracy?: number) => http.post(`/api/participations/${id}/locations`, fix(at, accuracy), { token: player.token });
	expect((await report(east(-500))).body).toEqual({ outcome: "nothing", score: 0 });
	expect((await report(east(0), 120)).body).toEqual({ outcome: "inaccurate", score: 0 });
	// Standing on the second clue finds nothing: it is not open yet.
	expect((await report(east(300))).body).toEqual({ outcome: "nothing", score: 0 });
	const found = await report(east(5));
	expect(found.body).toEqual({
		outcome: "discovered",
		score: 10,
		discovered: [
			{ clueId: clueIds[0], title: "Hill", content: "Climb to the basilica", points: 10, discoveredAt: expect.any(String), challenge: { question: "Which basilica?", solved: false }, hintsUsed: [] },
		],
	});
	// The challenge stands between the player and the rest.
	expect((await http.get(`/api/participations/${id}`, { token: player.token })).body.targets).toEqual([]);

	expect((await http.post(`/api/participations/${id}/hints`, { clueId: clueIds[0] }, { token: player.token })).body).toEqual({ hint: { text: "It overlooks the city", cost: 4 }, score: 6 });
	expectError(await http.post(`/api/participations/${id}/hints`, { clueId: clueIds[0] }, { token: player.token }), 409, "NO_MORE_HINTS");
	expectError(await http.post(`/api/participations/${id}/hints`, { clueId: clueIds[1] }, { token: player.token }), 404, "NOT_FOUND");
	expect((await http.post(`/api/participations/${id}/answers`, { clueId: clueIds[0], answer: "Notre-Dame" }, { token: player.token })).body).toEqual({ correct: false, score: 6 });
	expect((await http.post(`/api/participations/${id}/answers`, { clueId: clueIds[0], answer: "  fourviere BASILICA " }, { token: player.token })).body).toEqual({
		correct: true,
		score: 6,
		opened: [clueIds[1]],
	});
	expect(answer).not.toBe("  fourviere BASILICA ");

	const view = (await http.get(`/api/participations/${id}`, { token: player.token })).body;
	expect(view.targets.map((t: { clueId: string }) => t.clueId)).toEqual([clueIds[1]]);
	expect(view.discovered[0]).toMatchObject({ challenge: { solved: true }, hintsUsed: [{ text: "It overlooks the city", cost: 4 }] });

	expect((await report(east(150))).body.outcome).toBe("nothing");
	expect((await report(east(300))).body).toMatchObject({ outcome: "discovered", score: 26, discovered: [{ clueId: clueIds[1], hintsUsed: [] }] });
	const done = await report(east(600));
	// 60 points found − 4 for the hint + the time bonus, on the server's clock (the phone's is the
	// player's to set): a test's few seconds of a 240-minute limit earn all of half the hunt's 60 points.
	expect(done.body).toMatchObject({ outcome: "completed", discovered: [{ clueId: clueIds[2] }] });
	expect(done.body.score).toBe(56 + 30);
	const final = (await http.get(`/api/participations/${id}`, { token: player.token })).body;
	expect(final).toMatchObject({ state: "completed", score: done.body.score, completedAt: expect.any(String), targets: [] });
	expect(final.discovered).toHaveLength(3);
	expectError(await report(east(600)), 409, "PARTICIPATION_STATE");

	// What an operator sees of the hunt (REPL `play <huntId>`).
	const live = await huntPlayReport(node.broker, huntId);
	expect(live).toContain("1 completed");
	expect(live).toContain("discoveries per clue: Hill 1, Bridge 1, Square 1");
	expect(live).toContain("reporting in the last 5 minutes: 0");
});

it("makes one discovery and one score of concurrent reports from one participation", async () => {
	const { huntId, clueIds } = await trail();
	const player = await signUp(http, "Double tap");
	const id = (await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token })).body.id;
	const base = Date.now() - 10_000;
	const reports = await Promise.all(
		[0, 1, 2].map(i => http.post(`/api/participations/${id}/locations`, { ...east(i), accuracy: 5, recordedAt: new Date(base + i * 1000).toISOString() }, { token: player.token })),
	);
	expect(reports.filter(res => res.body.outcome === "discovered")).toHaveLength(1);
	expect(reports.every(res => res.status === 200)).toBe(true);
	const view = (await http.get(`/api/participations/${id}`, { token: player.token })).body;
	expect(view).toMatchObject({ score: 10, state: "active" });
	expect(view.discovered.map((clue: { clueId: string }) => clue.clueId)).toEqual([clueIds[0]]);
});

it("ranks players live by score then finish time, and rebuilds the board identically from the participations", async () => {
	const { huntId, clueIds, answer } = await trail();
	const [fast, slow] = await Promise.all([signUp(http, "Fast Finisher"), signUp(http, "Slow Walker")]);
	const play = async (player: { token: string }, metres: number[], solve: boolean) => {
		const id = (await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token })).body.id;
		const fix = walker();
		for (const at of metres) {
			await http.post(`/api/participations/${id}/locations`, fix(east(at)), { token: player.token });
			if (at === 0 && solve) await http.post(`/api/participations/${id}/answers`, { clueId: clueIds[0], answer }, { token: player.token });
		}
		return id;
	};
	await play(fast, [0, 300, 600], true);
	await play(slow, [0], false);
	const board = await eventually(async () => {
		const res = await http.get(`/api/hunts/${huntId}/leaderboard`);
		expect(res.body.items).toHaveLength(2);
		return res.body.items;
	});
	expect(board).toEqual([
		{ rank: 1, playerId: fast.userId, displayName: "Fast Finisher", score: 60 + 30, completedAt: expect.any(String) },
		{ rank: 2, playerId: slow.userId, displayName: "Slow Walker", score: 10 },
	]);

	// Lost, then rebuilt from the participations: the same board.
	await nodeBackends(node.broker).keyValueStore().del(`leaderboard:${huntId}`);
	expect((await http.get(`/api/hunts/${huntId}/leaderboard`)).body.items).toEqual([]);
	expectError(await http.get(`/api/hunts/${huntId}/leaderboard?limit=0`), 422, "VALIDATION_FAILED");
	const { rebuilt, rows } = await leaderboardRows(node.broker, huntId, { rebuild: true });
	expect(rebuilt).toBe(2);
	expect(rows.slice(1).map(row => row[1])).toEqual([fast.userId, slow.userId]);
	expect((await http.get(`/api/hunts/${huntId}/leaderboard`)).body.items).toEqual(board);
});

it("closes participations at the hunt's end: one that plays at once, an idle one in the sweep; both keep their score on the board", async () => {
	const endsAt = new Date(Date.now() + 8_000);
	const { huntId, clueIds } = await trail({ endsAt: endsAt.toISOString() });
	const [walkerPlayer, idlePlayer] = await Promise.all([signUp(http, "Late Walker"), signUp(http, "Idle Player")]);
	const walkingId = (await http.post(`/api/hunts/${huntId}/join`, {}, { token: walkerPlayer.token })).body.id;
	const idle = await http.post(`/api/hunts/${huntId}/join`, {}, { token: idlePlayer.token });
	expect(idle.body).toMatchObject({ state: "active", closesAt: endsAt.toISOString() });
	expect(idle.body.closedBy).toBeUndefined();
	const fix = walker();
	expect((await http.post(`/api/participations/${walkingId}/locations`, fix(east(0)), { token: walkerPlayer.token })).body).toMatchObject({ outcome: "discovered", score: 10 });

	await new Promise(resolve => setTimeout(resolve, Math.max(0, endsAt.getTime() - Date.now() + 50)));
	const late = await http.post(`/api/participations/${walkingId}/locations`, fix(east(1)), { token: walkerPlayer.token });
	expectError(late, 409, "HUNT_NOT_RUNNING");
	expect(late.body.error.message).toBe("The hunt is over");
	const closed = (await http.get(`/api/participations/${walkingId}`, { token: walkerPlayer.token })).body;
	expect(closed).toMatchObject({ state: "completed", closedBy: "hunt_end", score: 10 });
	expect(closed.completedAt).toBeUndefined();
	// Closed, it stays closed in the same words, whoever closed it.
	const hint = await http.post(`/api/participations/${walkingId}/hints`, { clueId: clueIds[0] }, { token: walkerPlayer.token });
	expectError(hint, 409, "HUNT_NOT_RUNNING");
	expect(hint.body.error.message).toBe("The hunt is over");

	// Nobody asked about the idle one: the sweep closed it.
	await eventually(
		async () => expect((await http.get(`/api/participations/${idle.body.id}`, { token: idlePlayer.token })).body).toMatchObject({ state: "completed", closedBy: "hunt_end", score: 0 }),
		{
			timeoutMs: 10_000,
			intervalMs: 200,
		},
	);
	const board = await eventually(async () => {
		const items = (await http.get(`/api/hunts/${huntId}/leaderboard`)).body.items;
		expect(items).toHaveLength(2);
		return items;
	});
	// Closed is not finished: no finish time, no time bonus.
	expect(board).toEqual([
		{ rank: 1, playerId: walkerPlayer.userId, displayName: "Late Walker", score: 10 },
		{ rank: 2, playerId: idlePlayer.userId, displayName: "Idle Player", score: 0 },
	]);
	const live = await node.broker.call<{ byState: Record<string, number> }, { huntId: string }>("gameplay.liveState", { huntId }, await asOperator(node.broker));
	expect(live.byState).toMatchObject({ active: 0, completed: 2 });
});

it("keeps a participation to its player", async () => {
	const { huntId } = await trail();
	const player = await signUp(http, "Owner of it");
	const other = await signUp(http, "Someone else");
	const id = (await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token })).body.id;
	expectError(await http.get(`/api/participations/${id}`, { token: other.token }), 404, "NOT_FOUND");
	expectError(await http.post(`/api/participations/${id}/locations`, walker()(east(0)), { token: other.token }), 404, "NOT_FOUND");
	expectError(await http.get(`/api/participations/${id}`), 401, "UNAUTHENTICATED");
	expectError(await http.get(`/api/participations/${randomUUID()}`, { token: player.token }), 404, "NOT_FOUND");
});

it("lets cheating not pay: a teleport discovers nothing, and the third flag suspends the participation", async () => {
	const { huntId } = await trail();
	const player = await signUp(http, "Teleporter");
	const id = (await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token })).body.id;
	const report = (body: object) => http.post(`/api/participations/${id}/locations`, body, { token: player.token });
	const now = Date.now();
	const at = (where: LatLon, secondsAgo: number) => ({ ...where, accuracy: 5, recordedAt: new Date(now - secondsAgo * 1000).toISOString() });
	expect((await report(at(east(-5_000), 60))).body.outcome).toBe("nothing");
	// 5 km in 10 s, landing on the first clue.
	expect((await report(at(east(0), 50))).body).toEqual({ outcome: "flagged", flags: ["IMPOSSIBLE_SPEED"], score: 0 });
	expect((await report({ ...at(east(-5_000), 0), recordedAt: new Date(now + 3_600_000).toISOString() })).body).toMatchObject({ outcome: "flagged", flags: ["FUTURE_TIMESTAMP"] });
	expect((await http.get(`/api/participations/${id}`, { token: player.token })).body).toMatchObject({ state: "active", discovered: [] });
	expect((await report(at(east(-5_000), 60))).body).toMatchObject({ outcome: "flagged", flags: ["REPLAYED_FIX"] });
	expect((await http.get(`/api/participations/${id}`, { token: player.token })).body).toMatchObject({ state: "suspended", discovered: [], score: 0 });
	expectError(await report(at(east(-4_990), 5)), 409, "PARTICIPATION_STATE");

	// Operators see it too (REPL `reviews`, `participation <id>`).
	expect((await reviewRows(node.broker)).map(row => row[0])).toContain(id);
	const inspected = participationReport(await node.broker.call("gameplay.inspect", { id }, await asOperator(node.broker)));
	expect(inspected).toContain("suspended, score 0");
	expect(inspected).toMatch(/IMPOSSIBLE_SPEED \{.*"distanceM":5000\b/);

	// The review queue shows each flag with its evidence; only admins see it or decide.
	expectError(await http.get("/api/admin/participations", { token: player.token }), 403, "FORBIDDEN");
	const queue = await http.get("/api/admin/participations?state=suspended", { token: adminToken });
	const queued = queue.body.items.find((item: { id: string }) => item.id === id);
	expect(queued).toMatchObject({ state: "suspended", playerId: player.userId, huntId });
	expect(queued.flags.map((flag: { code: string }) => flag.code)).toEqual(["IMPOSSIBLE_SPEED", "FUTURE_TIMESTAMP", "REPLAYED_FIX"]);
	expect(queued.flags[0].evidence).toMatchObject({ requiredDistanceM: expect.any(Number), seconds: 10, maxSpeedMps: expect.any(Number) });
	expectError(await http.post(`/api/admin/participations/${id}/review`, { decision: "reinstate", note: "GPS glitch" }, { token: player.token }), 403, "FORBIDDEN");
	expectError(await http.post(`/api/admin/participations/${id}/review`, { decision: "pardon", note: "x" }, { token: adminToken }), 422, "VALIDATION_FAILED");

	const reinstated = await http.post(`/api/admin/participations/${id}/review`, { decision: "reinstate", note: "A tunnel confused the GPS" }, { token: adminToken });
	expect(reinstated.body).toMatchObject({ id, state: "active" });
	// Playing again, and one more glitch does not suspend at once: the honest flags no longer count.
	expect((await report(at(east(-4_990), 5))).body.outcome).toBe("nothing");
	expect((await report(at(east(9_000), 4))).body.outcome).toBe("flagged");
	expect((await http.get(`/api/participations/${id}`, { token: player.token })).body.state).toBe("active");
	expectError(await http.post(`/api/admin/participations/${id}/review`, { decision: "disqualify", note: "Again" }, { token: adminToken }), 409, "PARTICIPATION_STATE");

	await eventually(
		async () => {
			const audit = await http.get(`/api/admin/audit?subject=${id}`, { token: adminToken });
			expect(audit.body.entries.map((entry: { action: string }) => entry.action).sort()).toEqual(
				["gameplay.flagged", "gameplay.flagged", "gameplay.flagged", "gameplay.suspended", "gameplay.reviewed", "gameplay.flagged"].sort(),
			);
		},
		{ timeoutMs: 20_000 },
	);
});

it("disqualifies on review: the participation plays no more", async () => {
	const { huntId } = await trail();
	const player = await signUp(http, "Cheater");
	const id = (await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token })).body.id;
	const now = Date.now();
	for (const [metres, secondsAgo] of [
		[0, 100],
		[50_000, 99],
		[100_000, 98],
		[150_000, 97],
	]) {
		await http.post(`/api/participations/${id}/locations`, { ...east(metres), accuracy: 5, recordedAt: new Date(now - secondsAgo * 1000).toISOString() }, { token: player.token });
	}
	expect((await http.get(`/api/participations/${id}`, { token: player.token })).body.state).toBe("suspended");
	expect((await http.post(`/api/admin/participations/${id}/review`, { decision: "disqualify", note: "Teleports across the region" }, { token: adminToken })).body.state).toBe("disqualified");
	expect((await http.get("/api/admin/participations?state=disqualified", { token: adminToken })).body.items.map((item: { id: string }) => item.id)).toContain(id);
	expectError(await http.post(`/api/participations/${id}/locations`, { ...east(0), accuracy: 5, recordedAt: new Date().toISOString() }, { token: player.token }), 409, "PARTICIPATION_STATE");
	expectError(await http.post(`/api/admin/participations/${id}/review`, { decision: "reinstate", note: "Oops" }, { token: adminToken }), 409, "PARTICIPATION_STATE");
	// Ranked while suspended (at 0 points), gone once disqualified.
	await eventually(async () => {
		const board = (await http.get(`/api/hunts/${huntId}/leaderboard`)).body.items.map((item: { playerId: string }) => item.playerId);
		expect(board).not.toContain(player.userId);
	});
	await leaderboardRows(node.broker, huntId, { rebuild: true });
	expect((await http.get(`/api/hunts/${huntId}/leaderboard`)).body.items.map((item: { playerId: string }) => item.playerId)).not.toContain(player.userId);
});

it("never seats more players than the hunt's capacity, however many join at once", async () => {
	const huntId = await publishedHunt(http, owner, partnerId, "Tiny hunt", START, { capacity: 2 });
	const players = await Promise.all(Array.from({ length: 6 }, (_, i) => signUp(http, `Racer ${i}`)));
	const answers = await Promise.all(players.map(player => http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token })));
	expect(answers.filter(res => res.status === 201)).toHaveLength(2);
	for (const res of answers.filter(res => res.status !== 201)) expectError(res, 409, "HUNT_FULL");
});

it("asks a private hunt's join code, in any letter case, and refuses hunts that are not running", async () => {
	const privateHunt = await publishedHunt(http, owner, partnerId, "Private hunt", START, { visibility: "private" });
	const joinCode = (await http.get(`/api/hunts/${privateHunt}`, { token: owner.token })).body.joinCode as string;
	const player = await signUp(http, "Invited");
	expectError(await http.post(`/api/hunts/${privateHunt}/join`, {}, { token: player.token }), 403, "JOIN_CODE_INVALID");
	expectError(await http.post(`/api/hunts/${privateHunt}/join`, { code: "WRONG123" }, { token: player.token }), 403, "JOIN_CODE_INVALID");
	expect((await http.post(`/api/hunts/${privateHunt}/join`, { code: ` ${joinCode.toLowerCase()} ` }, { token: player.token })).status).toBe(201);

	const later = await publishedHunt(http, owner, partnerId, "Not yet", START, { startsAt: "2098-01-01T00:00:00Z" });
	expectError(await http.post(`/api/hunts/${later}/join`, {}, { token: player.token }), 409, "HUNT_NOT_RUNNING");
	const archived = await publishedHunt(http, owner, partnerId, "Over", START);
	await http.post(`/api/hunts/${archived}/archive`, {}, { token: owner.token });
	expectError(await http.post(`/api/hunts/${archived}/join`, {}, { token: player.token }), 409, "HUNT_NOT_RUNNING");
	expectError(await http.post(`/api/hunts/${randomUUID()}/join`, {}, { token: player.token }), 404, "NOT_FOUND");
});

it("rate-limits wrong answers with Retry-After, and refuses malformed reports without changing anything", async () => {
	const { huntId, clueIds } = await trail();
	const player = await signUp(http, "Guesser");
	const id = (await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token })).body.id;
	expectError(await http.post(`/api/participations/${id}/answers`, { clueId: clueIds[0], answer: "x" }, { token: player.token }), 404, "NOT_FOUND");
	expect((await http.post(`/api/participations/${id}/locations`, walker()(east(0)), { token: player.token })).body.outcome).toBe("discovered");
	for (let i = 0; i < 5; i++) expect((await http.post(`/api/participations/${id}/answers`, { clueId: clueIds[0], answer: `guess ${i}` }, { token: player.token })).body.correct).toBe(false);
	const limited = await http.post(`/api/participations/${id}/answers`, { clueId: clueIds[0], answer: "Fourvière Basilica" }, { token: player.token });
	expectError(limited, 429, "TOO_MANY_ATTEMPTS");
	expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(500);

	for (const bad of [
		{ lat: 200, lon: 0, accuracy: 5, recordedAt: new Date().toISOString() },
		{ lat: 45, lon: 4, accuracy: -1, recordedAt: new Date().toISOString() },
		{ lat: 45, lon: 4, accuracy: 5 },
		{ lat: 45, lon: 4, accuracy: 5, recordedAt: "yesterday" },
		{ lat: "45", lon: 4, accuracy: 5, recordedAt: new Date().toISOString() },
	]) {
		expectError(await http.post(`/api/participations/${id}/locations`, bad, { token: player.token }), 422, "VALIDATION_FAILED");
	}
	expect((await http.get(`/api/participations/${id}`, { token: player.token })).body).toMatchObject({ state: "active", score: 10 });
});

describe("what a black-box attacker tried", () => {
	it("stops play, and hides the board, once the hunt is taken down or its partner suspended", async () => {
		const { huntId, clueIds } = await trail();
		const player = await signUp(http, "Still playing");
		const id = (await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token })).body.id;
		const fix = walker();
		expect((await http.post(`/api/participations/${id}/locations`, fix(east(0)), { token: player.token })).body.outcome).toBe("discovered");
		expect((await http.get(`/api/hunts/${huntId.toUpperCase()}/leaderboard`)).status).toBe(200);
		await http.post(`/api/admin/hunts/${huntId}/unpublish`, { reason: "Unsafe place" }, { token: adminToken });
		await eventually(async () => expectError(await http.post(`/api/participations/${id}/locations`, fix(east(10)), { token: player.token }), 409, "HUNT_NOT_RUNNING"));
		expectError(await http.post(`/api/participations/${id}/hints`, { clueId: clueIds[0] }, { token: player.token }), 409, "HUNT_NOT_RUNNING");
		expectError(await http.post(`/api/participations/${id}/answers`, { clueId: clueIds[0], answer: "x" }, { token: player.token }), 409, "HUNT_NOT_RUNNING");
		await eventually(async () => expectError(await http.get(`/api/hunts/${huntId}/leaderboard`), 404, "NOT_FOUND"));
		expectError(await http.get(`/api/hunts/${randomUUID()}/leaderboard`), 404, "NOT_FOUND");

		const other = await trail();
		const walkerId = (await http.post(`/api/hunts/${other.huntId}/join`, {}, { token: player.token })).body.id;
		await http.post(`/api/partners/${partnerId}/suspend`, { reason: "Unpaid invoices" }, { token: adminToken });
		try {
			await eventually(async () => expectError(await http.post(`/api/participations/${walkerId}/locations`, fix(east(0)), { token: player.token }), 409, "HUNT_NOT_RUNNING"));
		} finally {
			await http.post(`/api/partners/${partnerId}/verify`, {}, { token: adminToken });
		}
	});

	it("does not let fixes dated in the past carry a player across the map", async () => {
		const { huntId } = await trail();
		const player = await signUp(http, "Time traveller");
		const id = (await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token })).body.id;
		const report = (metres: number, recordedAt: string) => http.post(`/api/participations/${id}/locations`, { ...east(metres), accuracy: 5, recordedAt }, { token: player.token });
		expect((await report(-500_000, "2020-01-01T00:00:00Z")).body.outcome).toBe("nothing");
		expect((await report(0, "2020-01-02T00:00:00Z")).body).toMatchObject({ outcome: "flagged", flags: ["IMPOSSIBLE_SPEED"] });
	});

	it("refuses instants that do not exist, and answers a client's retry without a flag", async () => {
		const { huntId } = await trail();
		const player = await signUp(http, "Bad network");
		const id = (await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token })).body.id;
		for (const recordedAt of ["2016-12-31T23:59:60Z", "2026-01-01T00:00:00+99:99", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z"]) {
			expectError(await http.post(`/api/participations/${id}/locations`, { ...east(0), accuracy: 5, recordedAt }, { token: player.token }), 422, "VALIDATION_FAILED");
		}
		const same = walker()(east(-200));
		for (let i = 0; i < 4; i++) expect((await http.post(`/api/participations/${id}/locations`, same, { token: player.token })).body).toEqual({ outcome: "nothing", score: 0 });
		expect((await http.get(`/api/participations/${id}`, { token: player.token })).body.state).toBe("active");
	});

	it("keeps answers and join codes out of URLs, counts a burst of guesses exactly, and takes no answer for a solved challenge", async () => {
		const privateHunt = await publishedHunt(http, owner, partnerId, "Coded", START, { visibility: "private" });
		const joinCode = (await http.get(`/api/hunts/${privateHunt}`, { token: owner.token })).body.joinCode as string;
		const player = await signUp(http, "Guesser in a hurry");
		expectError(await http.post(`/api/hunts/${privateHunt}/join?code=${joinCode}`, {}, { token: player.token }), 422, "VALIDATION_FAILED");

		const { huntId, clueIds, answer } = await trail();
		const id = (await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token })).body.id;
		await http.post(`/api/participations/${id}/locations`, walker()(east(0)), { token: player.token });
		expectError(await http.post(`/api/participations/${id}/answers?answer=${encodeURIComponent(answer)}`, { clueId: clueIds[0], answer: "wrong" }, { token: player.token }), 422, "VALIDATION_FAILED");
		const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => http.post(`/api/participations/${id}/answers`, { clueId: clueIds[0], answer: `guess ${i}` }, { token: player.token })));
		expect(burst.filter(res => res.status === 200 && res.body.correct === false)).toHaveLength(5);
		expect(burst.filter(res => res.status === 429)).toHaveLength(3);
		expectError(await http.post(`/api/participations/${id}/answers`, { clueId: clueIds[0], answer }, { token: player.token }), 429, "TOO_MANY_ATTEMPTS");

		const patient = await signUp(http, "Patient");
		const solvedId = (await http.post(`/api/hunts/${huntId}/join`, {}, { token: patient.token })).body.id;
		await http.post(`/api/participations/${solvedId}/locations`, walker()(east(0)), { token: patient.token });
		expect((await http.post(`/api/participations/${solvedId}/answers`, { clueId: clueIds[0].toUpperCase(), answer }, { token: patient.token })).body.correct).toBe(true);
		expectError(await http.post(`/api/participations/${solvedId}/answers`, { clueId: clueIds[0], answer: "anything" }, { token: patient.token }), 409, "CONFLICT");
	});
});
