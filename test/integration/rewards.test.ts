/**
 * Rewards and the inbox through HTTP on a real node, from a played hunt: a partner's editor sponsors
 * a reward, finishers claim codes (one each, never more than the stock, others refused), the
 * partner redeems a code once; every step of play, the reward and the partner's verification land
 * in the right user's inbox, which pages, counts unread and marks read; claims and redemptions are
 * on the audit record.
 */
import { randomUUID } from "node:crypto";
import { expectError, httpClient, type HttpClient } from "../support/http";
import { eventually, startTestNode, type TestNode } from "../support/node";
import { HUNT_TEST_ENV, publishedHunt, signInAdmin, signUp, verifiedPartner } from "../support/hunts";
import { rewardReport } from "../../services/rewards.repl";
import { inboxReport } from "../../services/notifications.repl";
import { openSse, openWs } from "../support/live";

let node: TestNode;
let http: HttpClient;
let adminToken: string;
let owner: { userId: string; token: string };
let partnerId: string;
let huntId: string;
const AT = { lat: 45.75, lon: 4.85 };

beforeAll(async () => {
	node = await startTestNode(HUNT_TEST_ENV);
	http = httpClient(node.baseUrl);
	adminToken = await signInAdmin(http);
	owner = await signUp(http, "Sponsor");
	partnerId = await verifiedPartner(http, adminToken, owner);
	huntId = await publishedHunt(http, owner, partnerId, "Coffee trail", AT);
}, 60_000);
afterAll(() => node?.stop());

/** A new player who joined the hunt and reached its one clue (its start and finish). */
async function finisher(name: string): Promise<{ userId: string; token: string }> {
	const player = await signUp(http, name);
	const joined = await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token });
	expect(joined.status).toBe(201);
	const report = await http.post(`/api/participations/${joined.body.id}/locations`, { ...AT, accuracy: 5, recordedAt: new Date().toISOString() }, { token: player.token });
	expect(report.body.outcome).toBe("completed");
	return player;
}

const sponsor = (body: Record<string, unknown>, token = owner.token) => http.post(`/api/hunts/${huntId}/rewards`, body, { token });

it("lets the partner's people sponsor a reward on their hunt, and no one else", async () => {
	const stranger = await signUp(http, "Stranger");
	expectError(await sponsor({ title: "Free coffee", stock: 2, rule: { kind: "all_finishers" } }, stranger.token), 403, "FORBIDDEN");
	expectError(await http.post(`/api/hunts/${randomUUID()}/rewards`, { title: "x", stock: 1, rule: { kind: "all_finishers" } }, { token: owner.token }), 403, "FORBIDDEN");
	for (const bad of [
		{ title: "x", stock: 0, rule: { kind: "all_finishers" } },
		{ title: "x", stock: 1, rule: { kind: "top" } },
		{ title: "x", stock: 1, rule: { kind: "first_finishers", n: 0 } },
		{ title: "x", stock: 1, rule: { kind: "everyone" } },
		{ title: "", stock: 1, rule: { kind: "all_finishers" } },
		{ title: "x", stock: "many", rule: { kind: "all_finishers" } },
		{ title: "x", stock: 1, rule: { kind: "all_finishers" }, remaining: 99 },
	]) {
		expect((await sponsor(bad)).status).toBe(422);
	}
	const made = await sponsor({ title: "Free coffee", description: "At the corner café", stock: 2, rule: { kind: "first_finishers", n: 5 } });
	expect(made.status).toBe(201);
	expect(made.headers.get("location")).toBe(`/api/rewards/${made.body.id}`);
	expect(made.body).toMatchObject({ huntId, partnerId, title: "Free coffee", stock: 2, remaining: 2, rule: { kind: "first_finishers", n: 5 } });
	const listed = await http.get(`/api/hunts/${huntId}/rewards`, { token: stranger.token });
	expect(listed.body.items.map((reward: { id: string }) => reward.id)).toContain(made.body.id);
	expect((await http.get(`/api/rewards/${made.body.id}`, { token: stranger.token })).body).toMatchObject({ id: made.body.id, remaining: 2 });

	// A draft's rewards are the partner's plans: its members and admins see them, players do not.
	const draft = await http.post(
		"/api/hunts",
		{ partnerId, title: "Next season", description: "Not yet", tags: [], area: { ...AT, radiusM: 1000 }, startsAt: "2026-01-01T00:00:00Z", endsAt: "2099-01-01T00:00:00Z", visibility: "public" },
		{ token: owner.token },
	);
	expect((await http.get(`/api/hunts/${draft.body.id}/rewards`, { token: owner.token })).body).toEqual({ items: [] });
	const planned = await http.post(`/api/hunts/${draft.body.id}/rewards`, { title: "Season pass", stock: 1, rule: { kind: "top", n: 1 } }, { token: owner.token });
	expect(planned.status).toBe(201);
	expectError(await http.get(`/api/hunts/${draft.body.id}/rewards`, { token: stranger.token }), 404, "NOT_FOUND");
	expectError(await http.get(`/api/rewards/${planned.body.id}`, { token: stranger.token }), 404, "NOT_FOUND");
	expectError(await http.get(`/api/hunts/${randomUUID()}/rewards`, { token: stranger.token }), 404, "NOT_FOUND");
	expect((await http.get(`/api/rewards/${planned.body.id}`, { token: adminToken })).status).toBe(200);
	expect((await http.get(`/api/hunts/${draft.body.id}/rewards`, { token: owner.token })).body.items).toHaveLength(1);
});

it("gives each eligible finisher one code until the stock runs out, and the partner redeems each once", async () => {
	const reward = (await sponsor({ title: "Museum ticket", stock: 2, rule: { kind: "all_finishers" } })).body;
	const [first, second, third] = [await finisher("First"), await finisher("Second"), await finisher("Third")];
	const walker = await signUp(http, "Walker");
	expectError(await http.post(`/api/rewards/${reward.id}/claim`, {}, { token: walker.token }), 403, "NOT_ELIGIBLE");

	const claimed = await http.post(`/api/rewards/${reward.id}/claim`, {}, { token: first.token });
	expect(claimed.status).toBe(201);
	expect(claimed.body.code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-.$/);
	const again = await http.post(`/api/rewards/${reward.id}/claim`, {}, { token: first.token });
	expectError(again, 409, "ALREADY_CLAIMED");
	expect(again.body.error.details.code).toBe(claimed.body.code);
	expect((await http.post(`/api/rewards/${reward.id}/claim`, {}, { token: second.token })).status).toBe(201);
	expectError(await http.post(`/api/rewards/${reward.id}/claim`, {}, { token: third.token }), 409, "REWARD_EXHAUSTED");

	// A top-up by the partner serves the next finisher.
	expectError(await http.post(`/api/rewards/${reward.id}/stock`, { add: 1 }, { token: third.token }), 403, "FORBIDDEN");
	expect((await http.post(`/api/rewards/${reward.id}/stock`, { add: 1 }, { token: owner.token })).body).toMatchObject({ stock: 3, remaining: 1 });
	expect((await http.post(`/api/rewards/${reward.id}/claim`, {}, { token: third.token })).status).toBe(201);

	// Redemption: a stranger learns nothing, the partner redeems once, typed any way.
	expectError(await http.post("/api/rewards/redeem", { code: claimed.body.code }, { token: walker.token }), 404, "CODE_UNKNOWN");
	const redeemed = await http.post("/api/rewards/redeem", { code: claimed.body.code.toLowerCase().replace(/-/g, " ") }, { token: owner.token });
	expect(redeemed.status).toBe(200);
	expect(redeemed.body).toEqual({ rewardId: reward.id, redeemedAt: expect.any(String) });
	expectError(await http.post("/api/rewards/redeem", { code: claimed.body.code }, { token: owner.token }), 409, "ALREADY_REDEEMED");
	expectError(await http.post("/api/rewards/redeem", { code: "ZZZZ" }, { token: owner.token }), 404, "CODE_UNKNOWN");
	expect((await http.post("/api/rewards/redeem", { code: 12 }, { token: owner.token })).status).toBe(422);

	const report = await rewardReport(node.broker, reward.id);
	expect(report.summary).toContain("stock 3, remaining 0, claimed 3, redeemed 1, claims under way 0");
	expect(report.rows).toHaveLength(4);
	expect(report.rows.flat().join(" ")).not.toContain(claimed.body.code);

	// Claims and the redemption are on the record.
	await eventually(async () => {
		const audit = await http.get(`/api/admin/audit?subject=${reward.id}`, { token: adminToken });
		const actions = (audit.body.entries as Array<{ action: string }>).map(entry => entry.action).sort();
		expect(actions).toEqual(["rewards.claimed", "rewards.claimed", "rewards.claimed", "rewards.created", "rewards.redeemed", "rewards.topped_up"]);
	});
}, 60_000);

it("never gives more codes than the stock to finishers claiming at once", async () => {
	const reward = (await sponsor({ title: "Limited print", stock: 3, rule: { kind: "all_finishers" } })).body;
	const players = await Promise.all(Array.from({ length: 12 }, (_, i) => finisher(`Racer ${i}`)));
	const answers = await Promise.all(players.map(player => http.post(`/api/rewards/${reward.id}/claim`, {}, { token: player.token })));
	expect(answers.filter(answer => answer.status === 201)).toHaveLength(3);
	expect(answers.filter(answer => answer.status === 409 && answer.body.error.code === "REWARD_EXHAUSTED")).toHaveLength(9);
	expect((await http.get(`/api/rewards/${reward.id}`, { token: owner.token })).body.remaining).toBe(0);
}, 60_000);

it("puts what happened in each user's own inbox: clue found, hunt completed, reward won, partner verified", async () => {
	const reward = (await sponsor({ title: "Sticker", stock: 5, rule: { kind: "all_finishers" } })).body;
	const player = await finisher("Inbox owner");
	expect((await http.post(`/api/rewards/${reward.id}/claim`, {}, { token: player.token })).status).toBe(201);

	const inbox = await eventually(async () => {
		const listed = await http.get("/api/notifications", { token: player.token });
		expect(listed.status).toBe(200);
		expect(listed.body.items.map((item: { kind: string }) => item.kind).sort()).toEqual(["clue_discovered", "hunt_completed", "reward_won"]);
		return listed.body;
	});
	expect(inbox.unread).toBe(3);
	// Newest first, numbered per user from 1.
	expect(inbox.items.map((item: { id: number }) => item.id)).toEqual([3, 2, 1]);
	expect(inbox.items.find((item: { kind: string }) => item.kind === "reward_won")).toMatchObject({ title: "Reward won", data: { rewardId: reward.id, huntId } });
	expect(inbox.items.find((item: { kind: string }) => item.kind === "clue_discovered").body).toContain("Coffee trail");

	const page = await http.get("/api/notifications?limit=2", { token: player.token });
	expect(page.body.items).toHaveLength(2);
	expect(page.body.next).toBe("2");
	const older = await http.get(`/api/notifications?limit=2&before=${page.body.next}`, { token: player.token });
	expect(older.body.items.map((item: { id: number }) => item.id)).toEqual([1]);
	expect(older.body.next).toBeUndefined();

	// Another user's numbers mark nothing of theirs; the owner's do.
	const other = await signUp(http, "Someone else");
	expect((await http.post("/api/notifications/read", { ids: [1, 2, 3] }, { token: other.token })).body).toEqual({ marked: 0, unread: 0 });
	expect((await http.post("/api/notifications/read", { ids: [1, 2, 2] }, { token: player.token })).body).toEqual({ marked: 2, unread: 1 });
	const after = await http.get("/api/notifications", { token: player.token });
	expect(after.body.items.filter((item: { readAt?: string }) => item.readAt)).toHaveLength(2);
	for (const bad of [{ ids: [] }, { ids: [0] }, { ids: ["x"] }, { ids: Array.from({ length: 201 }, (_, i) => i + 1) }, {}]) {
		expect((await http.post("/api/notifications/read", bad, { token: player.token })).status).toBe(422);
	}
	expect((await http.get("/api/notifications?limit=1000", { token: player.token })).status).toBe(422);
	expect((await http.get("/api/notifications")).status).toBe(401);

	// The partner's owner heard of the verification.
	await eventually(async () => {
		const theirs = await http.get("/api/notifications", { token: owner.token });
		expect(theirs.body.items.map((item: { kind: string }) => item.kind)).toContain("partner_verified");
	});
	const report = await inboxReport(node.broker, player.userId);
	expect(report.unread).toBe(1);
	expect(report.rows).toHaveLength(4);
}, 60_000);

it("keeps each user's push preferences, every kind on by default", async () => {
	const user = await signUp(http, "Chooser");
	const initial = await http.get("/api/notifications/preferences", { token: user.token });
	expect(initial.body.push).toMatchObject({ clue_discovered: true, reward_won: true });
	const changed = await http.put("/api/notifications/preferences", { push: { clue_discovered: false } }, { token: user.token });
	expect(changed.body.push).toMatchObject({ clue_discovered: false, reward_won: true });
	expect((await http.put("/api/notifications/preferences", { push: { nonsense: true } }, { token: user.token })).status).toBe(422);
	expect((await http.put("/api/notifications/preferences", { push: { reward_won: "yes" } }, { token: user.token })).status).toBe(422);
	expect((await http.get("/api/notifications/preferences", { token: user.token })).body.push.clue_discovered).toBe(false);
});

it("pushes a player's notifications live as they play, over SSE and WebSocket, and resumes after the last one seen", async () => {
	const player = await signUp(http, "Live player");
	const auth = { Authorization: `Bearer ${player.token}` };
	const sse = await openSse(node.baseUrl, "/api/notifications/stream", auth);
	const ws = await openWs(`${node.baseUrl.replace("http", "ws")}/api/notifications/ws`, { headers: auth });
	try {
		expect(sse.status).toBe(200);
		const joined = await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token });
		await http.post(`/api/participations/${joined.body.id}/locations`, { ...AT, accuracy: 5, recordedAt: new Date().toISOString() }, { token: player.token });
		await sse.waitFor(client => client.notifications().length === 2);
		expect(sse.notifications().map(n => [n.id, n.kind])).toEqual([
			[1, "clue_discovered"],
			[2, "hunt_completed"],
		]);
		expect(sse.events.map(event => event.id)).toEqual(["1", "2"]);
		await eventually(async () => expect(ws.notifications().map(n => n.id)).toEqual([1, 2]));
	} finally {
		sse.close();
		ws.ws.close();
	}
	// A client back after the first: only what it missed.
	const resumed = await openSse(node.baseUrl, "/api/notifications/stream", { ...auth, "Last-Event-ID": "1" });
	try {
		await resumed.waitFor(client => client.notifications().length === 1);
		expect(resumed.notifications().map(n => n.kind)).toEqual(["hunt_completed"]);
	} finally {
		resumed.close();
	}
}, 60_000);
