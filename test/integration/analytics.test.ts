/**
 * Partner analytics through HTTP on a real node: a scripted play (two players, discoveries, a hint,
 * wrong answers, a flag, a finish) reaches `GET /api/hunts/:id/analytics` over the durable
 * `gameplay.progress` channel with exact numbers; only the hunt's partner's members and admins see
 * them; and the projection wiped and rebuilt from the gameplay service's records gives the same
 * answer (REPL `analytics rebuild <huntId>`).
 */
import { randomUUID } from "node:crypto";
import type { Service } from "moleculer";
import { destination, type LatLon } from "../../domain/hunts/geo";
import { median, minutesOf } from "../../domain/analytics/hunt-report";
import type { ServiceDatabase } from "../../mixins/database.mixin";
import { analyticsReplCommands, analyticsRows } from "../../services/analytics.repl";
import { expectError, httpClient, type HttpClient } from "../support/http";
import { eventually, startTestNode, type TestNode } from "../support/node";
import { HUNT_TEST_ENV, publishedTrail, signInAdmin, signUp, TRAIL_ANSWER, verifiedPartner } from "../support/hunts";

let node: TestNode;
let http: HttpClient;
let adminToken: string;
let owner: { userId: string; token: string };
let partnerId: string;

const START: LatLon = { lat: 45.764, lon: 4.8357 };
const east = (metres: number) => destination(START, metres, Math.PI / 2);

beforeAll(async () => {
	node = await startTestNode(HUNT_TEST_ENV);
	http = httpClient(node.baseUrl);
	adminToken = await signInAdmin(http);
	owner = await signUp(http, "Owner");
	partnerId = await verifiedPartner(http, adminToken, owner);
}, 60_000);
afterAll(() => node?.stop());

/** The three-clue trail east of START (test/support/hunts.ts): Hill (a challenge and a hint), Bridge, Square (the finish). */
const trail = () => publishedTrail(http, owner, partnerId, START);

/** A player in the hunt, reporting fixes stamped a minute apart in the past (a walk, never a teleport unless asked). */
async function player(huntId: string, name: string) {
	const { token } = await signUp(http, name);
	const joined = await http.post(`/api/hunts/${huntId}/join`, {}, { token });
	if (joined.status !== 201) throw new Error(`join answered ${joined.status}`);
	const id: string = joined.body.id;
	let minute = -60;
	return {
		id,
		report: async (at: LatLon) => (await http.post(`/api/participations/${id}/locations`, { ...at, accuracy: 8, recordedAt: new Date(Date.now() + minute++ * 60_000).toISOString() }, { token })).body,
		answer: async (clueId: string, answer: string) => (await http.post(`/api/participations/${id}/answers`, { clueId, answer }, { token })).body,
		hint: async (clueId: string) => (await http.post(`/api/participations/${id}/hints`, { clueId }, { token })).body,
		view: async () => (await http.get(`/api/participations/${id}`, { token })).body as { startedAt: string; discovered: Array<{ clueId: string; discoveredAt: string }> },
	};
}

/** What the median of a clue's discoveries must be, from the participations as their players see them. */
function expectedMedian(views: Array<Awaited<ReturnType<Awaited<ReturnType<typeof player>>["view"]>>>, clueId: string): number | null {
	const times = views.flatMap(view => view.discovered.filter(found => found.clueId === clueId).map(found => Date.parse(found.discoveredAt) - Date.parse(view.startedAt)));
	const middle = median(times);
	return middle === null ? null : minutesOf(middle);
}

const analyticsOf = (huntId: string, token?: string) => http.get(`/api/hunts/${huntId}/analytics`, token ? { token } : {});

it("counts a scripted play exactly, for the partner's members and admins only, and rebuilds to the same answer", async () => {
	const { huntId, clueIds } = await trail();
	const [hill, bridge, square] = clueIds;

	// Before anyone plays: every clue listed, nobody counted.
	const empty = await analyticsOf(huntId, owner.token);
	expect(empty.status).toBe(200);
	expect(empty.body).toEqual({
		joined: 0,
		active: 0,
		completed: 0,
		flagged: 0,
		clues: ["Hill", "Bridge", "Square"].map((title, i) => ({ clueId: clueIds[i], title, discovered: 0, medianMinutesToDiscover: null, hintsUsed: 0, wrongAnswers: 0 })),
	});

	// Ana finds Hill, takes its hint, answers wrong twice then right, and walks to the finish.
	const ana = await player(huntId, "Ana");
	expect((await ana.report(east(-300))).outcome).toBe("nothing");
	expect((await ana.report(east(5))).outcome).toBe("discovered");
	expect((await ana.hint(hill)).hint.cost).toBe(4);
	expect((await ana.answer(hill, "Notre-Dame")).correct).toBe(false);
	expect((await ana.answer(hill, "Saint-Jean")).correct).toBe(false);
	expect((await ana.answer(hill, TRAIL_ANSWER)).correct).toBe(true);
	expect((await ana.report(east(150))).outcome).toBe("nothing");
	expect((await ana.report(east(300))).outcome).toBe("discovered");
	expect((await ana.report(east(450))).outcome).toBe("nothing");
	expect((await ana.report(east(600))).outcome).toBe("completed");

	// Ben finds Hill, answers wrong once, then his phone jumps 9 km in a minute: flagged, still playing.
	const ben = await player(huntId, "Ben");
	expect((await ben.report(east(-300))).outcome).toBe("nothing");
	expect((await ben.report(east(5))).outcome).toBe("discovered");
	expect((await ben.answer(hill, "Fourvière tower")).correct).toBe(false);
	expect(await ben.report(east(9_000))).toMatchObject({ outcome: "flagged", flags: ["IMPOSSIBLE_SPEED"] });

	const views = [await ana.view(), await ben.view()];
	const expected = {
		joined: 2,
		active: 1,
		completed: 1,
		flagged: 1,
		clues: [
			{ clueId: hill, title: "Hill", discovered: 2, medianMinutesToDiscover: expectedMedian(views, hill), hintsUsed: 1, wrongAnswers: 3 },
			{ clueId: bridge, title: "Bridge", discovered: 1, medianMinutesToDiscover: expectedMedian(views, bridge), hintsUsed: 0, wrongAnswers: 0 },
			{ clueId: square, title: "Square", discovered: 1, medianMinutesToDiscover: expectedMedian(views, square), hintsUsed: 0, wrongAnswers: 0 },
		],
	};
	expect(expected.clues.map(clue => typeof clue.medianMinutesToDiscover)).toEqual(["number", "number", "number"]);
	// The steps travel over the durable channel: the numbers follow within moments.
	const live = await eventually(
		async () => {
			const res = await analyticsOf(huntId, owner.token);
			expect(res.body).toEqual(expected);
			return res.body;
		},
		{ timeoutMs: 20_000, intervalMs: 200 },
	);

	// Only the hunt's partner's members and admins.
	const rival = await signUp(http, "Rival");
	await verifiedPartner(http, adminToken, rival);
	expectError(await analyticsOf(huntId, rival.token), 403, "FORBIDDEN");
	expectError(await analyticsOf(huntId, (await signUp(http, "Curious player")).token), 403, "FORBIDDEN");
	expectError(await analyticsOf(huntId), 401, "UNAUTHENTICATED");
	expect((await analyticsOf(huntId, adminToken)).body).toEqual(live);
	expectError(await analyticsOf(randomUUID(), owner.token), 404, "NOT_FOUND");
	expectError(await analyticsOf(randomUUID(), adminToken), 404, "NOT_FOUND");
	expect((await analyticsOf("not-a-uuid", adminToken)).status).toBe(422);

	// The projection lost: wiped behind the service's back, it shows nothing of the play...
	const analytics = node.broker.getLocalService("analytics") as Service & { database: ServiceDatabase };
	for (const table of ["participations", "discoveries", "hints", "wrong_answers"]) await analytics.database.db.query(`delete from ${analytics.database.table(table)} where hunt_id = $1`, [huntId]);
	expect((await analyticsOf(huntId, owner.token)).body).toMatchObject({ joined: 0, clues: [{ discovered: 0 }, { discovered: 0 }, { discovered: 0 }] });
	// ...and rebuilt from the gameplay service's records (REPL `analytics rebuild <huntId>`), it gives the same answer.
	const { summary, rows } = await analyticsRows(node.broker, huntId, { rebuild: true });
	expect(summary).toContain("Rebuilt from 2 participation(s)");
	expect(summary).toContain("joined 2, active 1, completed 1 (reached a finish), flagged 1");
	expect(rows[1]).toEqual([hill, "Hill", "2", expected.clues[0].medianMinutesToDiscover!.toFixed(1), "1", "3"]);
	expect((await analyticsOf(huntId, owner.token)).body).toEqual(live);
	// Rebuilding again changes nothing.
	await analyticsRows(node.broker, huntId, { rebuild: true });
	expect((await analyticsOf(huntId, adminToken)).body).toEqual(live);
}, 90_000);

it("answers the REPL command, and only admins may rebuild", async () => {
	const { huntId } = await trail();
	const printed: string[] = [];
	const log = jest.spyOn(console, "log").mockImplementation((line: unknown) => void printed.push(String(line)));
	const table = (rows: string[][]) => rows.map(row => row.join(" | ")).join("\n");
	try {
		await analyticsReplCommands[0].action(node.broker, { huntIdOrRebuild: huntId }, { table });
		await analyticsReplCommands[0].action(node.broker, { huntIdOrRebuild: "rebuild", huntId }, { table });
	} finally {
		log.mockRestore();
	}
	expect(printed[0]).toBe("joined 0, active 0, completed 0 (reached a finish), flagged 0");
	expect(printed[1].split("\n")).toEqual([
		"clue | title | found by | median minutes | hints | wrong answers",
		expect.stringMatching(/\| Hill \| 0 \| - \| 0 \| 0$/),
		expect.any(String),
		expect.any(String),
	]);
	expect(printed[2]).toMatch(/^Rebuilt from 0 participation\(s\), 0 step\(s\)\.\n/);

	const rebuildAs = (token: string) => node.broker.call("analytics.rebuild", { huntId }, { meta: { accessToken: token } });
	await expect(rebuildAs(owner.token)).rejects.toMatchObject({ code: 403, type: "FORBIDDEN" });
	await expect(rebuildAs(adminToken)).resolves.toEqual({ huntId, participations: 0, steps: 0 });
});

it("is documented: the route, its bearer security, and what each number means", async () => {
	const doc = (await http.get("/api/openapi.json")).body;
	const operation = doc.paths["/api/hunts/{id}/analytics"].get;
	expect(operation.security).toEqual([{ bearerAuth: [] }]);
	expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(["200", "401", "403", "404"]));
	const schema = JSON.stringify(operation.responses["200"]);
	for (const field of ["joined", "active", "completed", "flagged", "medianMinutesToDiscover", "hintsUsed", "wrongAnswers"]) expect(schema).toContain(`"${field}"`);
	expect(schema).toContain("reached a finish");
});
