/**
 * Hunts through HTTP on a real node: a verified partner's members design and publish; publishing
 * names every problem at once; a published hunt is frozen; players see the public view, in which
 * no clue's place, content, answer or hint ever appears; admins unpublish, on the record.
 */
import { randomUUID } from "node:crypto";
import { httpClient, expectError, type HttpClient } from "../support/http";
import { eventually, startTestNode, type TestNode } from "../support/node";
import { huntReport, huntRows } from "../../services/hunts.repl";
import { HUNT_TEST_ENV, signInAdmin, signUp, verifiedPartner as verifiedPartnerOf } from "../support/hunts";
import { callAsService } from "../../platform/moleculer/service-identity";
import { distanceM } from "../../domain/hunts/geo";

let node: TestNode;
let http: HttpClient;
let adminToken: string;

beforeAll(async () => {
	node = await startTestNode(HUNT_TEST_ENV);
	http = httpClient(node.baseUrl);
	adminToken = await signInAdmin(http);
}, 60_000);
afterAll(() => node?.stop());

const register = (name: string) => signUp(http, name);
const verifiedPartner = (owner: { token: string }) => verifiedPartnerOf(http, adminToken, owner);

const PARIS = { lat: 48.8566, lon: 2.3522 };

/** Whether the JSON holds this exact number as a value (a zone's centre near it is another number). */
const hasNumber = (json: string, value: number) => new RegExp(`[:\\[,]${String(value).replace(".", "\\.")}[,}\\]]`).test(json);
const draft = (partnerId: string, extra: Record<string, unknown> = {}) => ({
	partnerId,
	title: "Secrets of the Marais",
	description: "Five places, one story.",
	tags: ["History", "walk"],
	area: { ...PARIS, radiusM: 2000 },
	startsAt: "2026-01-01T00:00:00Z",
	endsAt: "2099-01-01T00:00:00Z",
	visibility: "public",
	difficulty: 3,
	...extra,
});
const clue = (n: number, extra: Record<string, unknown> = {}) => ({
	title: `Clue ${n}`,
	position: { lat: PARIS.lat + n * 0.001, lon: PARIS.lon + n * 0.0013 },
	radiusM: 25,
	content: `Secret content number ${n}: look under the ${n}th bench`,
	challenge: { question: `Question ${n}?`, answer: `Answer-${n}-${randomUUID().slice(0, 4)}` },
	hints: [{ text: `Hint text ${n}`, cost: 5 }],
	points: 10 * n,
	...extra,
});

it("lets a verified partner's editor design and publish a hunt, then freezes it; players see no secret", async () => {
	const owner = await register("Owner");
	const partnerId = await verifiedPartner(owner);
	const created = await http.post("/api/hunts", draft(partnerId), { token: owner.token });
	expect(created.status).toBe(201);
	expect(created.headers.get("location")).toBe(`/api/hunts/${created.body.id}`);
	expect(created.body).toMatchObject({ partnerId, status: "draft", tags: ["history", "walk"], clues: [], paths: [], capacity: null, difficulty: 3 });
	const huntId = created.body.id;

	const clues = [clue(1), clue(2), clue(3)];
	const ids: string[] = [];
	for (const body of clues) {
		const res = await http.post(`/api/hunts/${huntId}/clues`, body, { token: owner.token });
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({ title: body.title, challenge: { question: body.challenge.question } });
		expect(JSON.stringify(res.body)).not.toContain(body.challenge.answer);
		ids.push(res.body.id);
	}
	// A cycle, a path to a clue of no hunt, a clue outside the area: every problem at once.
	const outside = await http.post(`/api/hunts/${huntId}/clues`, clue(4, { position: { lat: 49.5, lon: 2.35 } }), { token: owner.token });
	const unknown = randomUUID();
	expect(
		(
			await http.put(
				`/api/hunts/${huntId}/paths`,
				{
					paths: [
						{ from: ids[0], to: ids[1] },
						{ from: ids[1], to: ids[0] },
						{ from: ids[1], to: unknown },
					],
				},
				{ token: owner.token },
			)
		).status,
	).toBe(200);
	const refused = await http.post(`/api/hunts/${huntId}/publish`, {}, { token: owner.token });
	expectError(refused, 422, "HUNT_INVALID");
	const codes = (refused.body.error.details.problems as Array<{ code: string; clueId?: string }>).map(p => (p.clueId ? `${p.code}:${p.clueId}` : p.code));
	expect(codes).toEqual(expect.arrayContaining([`CLUE_OUTSIDE_AREA:${outside.body.id}`, `PATH_UNKNOWN_CLUE:${unknown}`, `CYCLE:${ids[0]}`, `CYCLE:${ids[1]}`]));

	expect((await http.delete(`/api/hunts/${huntId}/clues/${outside.body.id}`, { token: owner.token })).status).toBe(204);
	const paths = [
		{ from: ids[0], to: ids[1] },
		{ from: ids[1], to: ids[2] },
	];
	expect((await http.put(`/api/hunts/${huntId}/paths`, { paths }, { token: owner.token })).body.paths).toEqual(expect.arrayContaining(paths));
	const published = await http.post(`/api/hunts/${huntId}/publish`, {}, { token: owner.token });
	expect(published.status).toBe(200);
	expect(published.body.status).toBe("published");

	expectError(await http.post(`/api/hunts/${huntId}/clues`, clue(5), { token: owner.token }), 409, "HUNT_FROZEN");
	expectError(await http.put(`/api/hunts/${huntId}/paths`, { paths: [] }, { token: owner.token }), 409, "HUNT_FROZEN");
	expectError(await http.patch(`/api/hunts/${huntId}`, { title: "New" }, { token: owner.token }), 409, "HUNT_FROZEN");
	expectError(await http.post(`/api/hunts/${huntId}/publish`, {}, { token: owner.token }), 409, "HUNT_STATE");

	// What anyone sees: the public view, the start clue's zone, and nothing of any clue's secrets.
	const player = await register("Player");
	// Every player-facing answer of this issue: the view, anonymous and signed in, and the searches.
	const searches = await eventually(async () => {
		const near = await http.get(`/api/hunts?lat=${PARIS.lat}&lon=${PARIS.lon}&radius=5000&q=Marais`);
		expect(near.body.items.map((h: { id: string }) => h.id)).toContain(huntId);
		return [near, await http.get("/api/hunts?q=Secrets%20Marais"), await http.get("/api/hunts?tags=history", { token: player.token })];
	});
	for (const found of searches) {
		expect(found.status).toBe(200);
		for (const secret of clues) {
			expect(hasNumber(found.text, secret.position.lat) || hasNumber(found.text, secret.position.lon)).toBe(false);
			for (const value of [secret.content, secret.challenge.answer, secret.hints[0].text]) expect(found.text).not.toContain(value);
		}
	}
	for (const token of [undefined, player.token]) {
		const view = await http.get(`/api/hunts/${huntId}`, token ? { token } : {});
		expect(view.status).toBe(200);
		expect(view.body).toMatchObject({ id: huntId, partner: { id: partnerId }, clueCount: 3, status: "published" });
		expect(view.body.startZones).toEqual([{ clueId: ids[0], zone: { lat: expect.any(Number), lon: expect.any(Number), radiusM: 150 } }]);
		const text = view.text;
		for (const secret of clues) {
			expect(hasNumber(text, secret.position.lat) || hasNumber(text, secret.position.lon)).toBe(false);
			expect(text).not.toContain(secret.content);
			expect(text).not.toContain(secret.challenge.answer);
			expect(text).not.toContain(secret.hints[0].text);
		}
		expect(view.body.clues).toBeUndefined();
	}
	// Members see everything but answers.
	const members = await http.get(`/api/hunts/${huntId}`, { token: owner.token });
	expect(members.body.clues).toHaveLength(3);
	// The scan above can find a position: members' JSON holds them.
	expect(hasNumber(members.text, clues[0].position.lat)).toBe(true);
	for (const secret of clues) expect(members.text).not.toContain(secret.challenge.answer);
});

it("keeps drafts to the partner's members, and hunts to verified partners", async () => {
	const owner = await register("Owner");
	const outsider = await register("Outsider");
	const partnerId = await verifiedPartner(owner);
	const huntId = (await http.post("/api/hunts", draft(partnerId), { token: owner.token })).body.id;
	expectError(await http.get(`/api/hunts/${huntId}`, { token: outsider.token }), 404, "NOT_FOUND");
	expectError(await http.get(`/api/hunts/${huntId}`), 404, "NOT_FOUND");
	expectError(await http.post(`/api/hunts/${huntId}/clues`, clue(1), { token: outsider.token }), 403, "FORBIDDEN");
	expectError(await http.post("/api/hunts", draft(partnerId), { token: outsider.token }), 403, "FORBIDDEN");
	expectError(await http.post(`/api/hunts/not-a-uuid/clues`, clue(1), { token: owner.token }), 403, "FORBIDDEN");
	expect((await http.get(`/api/partners/${partnerId}/hunts`, { token: owner.token })).body.items.map((h: { id: string }) => h.id)).toEqual([huntId]);
	expectError(await http.get(`/api/partners/${partnerId}/hunts`, { token: outsider.token }), 403, "FORBIDDEN");

	const pending = await http.post("/api/partners", { name: "Not yet verified" }, { token: outsider.token });
	expectError(await http.post("/api/hunts", draft(pending.body.id), { token: outsider.token }), 409, "PARTNER_NOT_ACTIVE");
	expectError(await http.post("/api/hunts", draft(partnerId, { endsAt: "not a date" }), { token: owner.token }), 422, "VALIDATION_FAILED");
	expectError(await http.post("/api/hunts", draft(partnerId, { area: { lat: 91, lon: 0, radiusM: 100 } }), { token: owner.token }), 422, "VALIDATION_FAILED");
	expectError(await http.post(`/api/hunts/${huntId}/clues`, clue(1, { radiusM: 501 }), { token: owner.token }), 422, "VALIDATION_FAILED");
});

it("lets admins take a hunt down with a reason, on the record, back to a draft", async () => {
	const owner = await register("Owner");
	const partnerId = await verifiedPartner(owner);
	const huntId = (await http.post("/api/hunts", draft(partnerId, { visibility: "private" }), { token: owner.token })).body.id;
	const only = await http.post(`/api/hunts/${huntId}/clues`, clue(1), { token: owner.token });
	const published = await http.post(`/api/hunts/${huntId}/publish`, {}, { token: owner.token });
	expect(published.body).toMatchObject({ status: "published", joinCode: expect.stringMatching(/^[A-Z2-9]{8}$/) });
	const rotated = await http.post(`/api/hunts/${huntId}/join-code`, {}, { token: owner.token });
	expect(rotated.body.joinCode).not.toBe(published.body.joinCode);

	expectError(await http.post(`/api/admin/hunts/${huntId}/unpublish`, { reason: "Misleading" }, { token: owner.token }), 403, "FORBIDDEN");
	const taken = await http.post(`/api/admin/hunts/${huntId}/unpublish`, { reason: "Misleading description" }, { token: adminToken });
	expect(taken.status).toBe(200);
	expect(taken.body).toMatchObject({ status: "draft", moderation: { reason: "Misleading description" }, publishedAt: null });
	expectError(await http.get(`/api/hunts/${huntId}`), 404, "NOT_FOUND");
	// Back to a draft: it can be fixed, and published again.
	expect((await http.patch(`/api/hunts/${huntId}/clues/${only.body.id}`, { content: "Better" }, { token: owner.token })).body.content).toBe("Better");
	expect((await http.post(`/api/hunts/${huntId}/publish`, {}, { token: owner.token })).body).toMatchObject({ status: "published", moderation: null });
	expect((await http.post(`/api/hunts/${huntId}/archive`, {}, { token: owner.token })).body.status).toBe("archived");

	await eventually(
		async () => {
			const audit = await http.get(`/api/admin/audit?subject=${huntId}`, { token: adminToken });
			expect(audit.body.entries.map((entry: { action: string }) => entry.action)).toEqual(["hunts.archived", "hunts.published", "hunts.unpublished", "hunts.published"]);
		},
		{ timeoutMs: 20_000 },
	);
});

it("hands the gameplay service a played hunt's playbook: every clue's secrets but the answer, which stays a hash; nothing for drafts or clients", async () => {
	const owner = await register("Owner");
	const partnerId = await verifiedPartner(owner);
	const huntId = (await http.post("/api/hunts", draft(partnerId, { visibility: "private", capacity: 30, timeLimitMinutes: 90 }), { token: owner.token })).body.id;
	const first = clue(1);
	const firstId = (await http.post(`/api/hunts/${huntId}/clues`, first, { token: owner.token })).body.id;
	const secondId = (await http.post(`/api/hunts/${huntId}/clues`, clue(2, { challenge: null, hints: [] }), { token: owner.token })).body.id;
	await http.put(`/api/hunts/${huntId}/paths`, { paths: [{ from: firstId, to: secondId }] }, { token: owner.token });
	await expect(callAsService(node.broker, "gameplay", "hunts.playbook", { id: huntId })).rejects.toMatchObject({ type: "NOT_FOUND" });

	const published = (await http.post(`/api/hunts/${huntId}/publish`, {}, { token: owner.token })).body;
	const playbook = await callAsService(node.broker, "gameplay", "hunts.playbook", { id: huntId });
	expect(playbook).toMatchObject({
		id: huntId,
		status: "published",
		partnerSuspended: false,
		visibility: "private",
		capacity: 30,
		timeLimitMinutes: 90,
		joinCode: published.joinCode,
		paths: [{ from: firstId, to: secondId }],
	});
	const [one, two] = [firstId, secondId].map(id => playbook.clues.find(c => c.id === id)!);
	expect(one).toMatchObject({
		title: "Clue 1",
		position: first.position,
		radiusM: 25,
		content: first.content,
		hints: first.hints,
		points: 10,
		challenge: { question: "Question 1?", answerHash: expect.stringMatching(/^scrypt\$/) },
	});
	expect(JSON.stringify(playbook)).not.toContain(first.challenge.answer);
	expect(two.challenge).toBeNull();
	// The search zone players get holds the place.
	for (const c of [one, two]) expect(distanceM(c.position, c.zone)).toBeLessThanOrEqual(c.zone.radiusM);

	// An archived hunt still answers for the participations it had; no client reaches the action.
	await http.post(`/api/hunts/${huntId}/archive`, {}, { token: owner.token });
	expect((await callAsService(node.broker, "gameplay", "hunts.playbook", { id: huntId })).status).toBe("archived");
	await expect(node.broker.call("hunts.playbook", { id: huntId }, { meta: { accessToken: owner.token } })).rejects.toMatchObject({ code: 403 });
	await expect(node.broker.call("hunts.playbook", { id: huntId })).rejects.toMatchObject({ code: 401 });
});

describe("finding hunts", () => {
	let owner: { userId: string; token: string };
	let partnerId: string;
	const run = randomUUID().slice(0, 6);
	const near = { lat: 43.6047, lon: 1.4442 }; // Toulouse: away from the other tests' hunts
	const publishedHunt = async (title: string, at: { lat: number; lon: number }, extra: Record<string, unknown> = {}) => {
		const hunt = await http.post("/api/hunts", draft(partnerId, { title, area: { ...at, radiusM: 1000 }, ...extra }), { token: owner.token });
		expect(hunt.status).toBe(201);
		expect((await http.post(`/api/hunts/${hunt.body.id}/clues`, clue(0, { position: at }), { token: owner.token })).status).toBe(201);
		expect((await http.post(`/api/hunts/${hunt.body.id}/publish`, {}, { token: owner.token })).status).toBe(200);
		return hunt.body.id as string;
	};
	let close: string;
	let far: string;
	let tagged: string;

	beforeAll(async () => {
		owner = await register("Finder");
		partnerId = await verifiedPartner(owner);
		close = await publishedHunt(`Capitole ${run} mysteries`, { lat: near.lat + 0.001, lon: near.lon });
		far = await publishedHunt(`Garonne ${run} walk`, { lat: near.lat + 0.05, lon: near.lon });
		tagged = await publishedHunt(`Canal ${run} trail`, { lat: near.lat + 0.02, lon: near.lon }, { tags: ["water", `run${run}`] });
		await publishedHunt(`Hidden ${run} private`, { lat: near.lat, lon: near.lon + 0.001 }, { visibility: "private" });
	}, 60_000);

	const search = (query: string) => http.get(`/api/hunts?${query}`);

	it("finds the public ones near a point, nearest first, with their distance, and pages", async () => {
		const res = await eventually(async () => {
			const found = await search(`lat=${near.lat}&lon=${near.lon}&radius=8000&q=${run}`);
			expect(found.body.items.map((h: { id: string }) => h.id)).toEqual([close, tagged, far]);
			return found;
		});
		expect(res.body.items[0].distanceM).toBeGreaterThan(100);
		expect(res.body.items[0].distanceM).toBeLessThan(120);
		expect(res.body.items[0]).toMatchObject({ partner: { id: partnerId }, clueCount: 1, startZones: [expect.objectContaining({ zone: expect.any(Object) })] });
		expect(res.body.items[0].clues).toBeUndefined();
		const first = await search(`lat=${near.lat}&lon=${near.lon}&radius=8000&q=${run}&limit=2`);
		expect(first.body.items).toHaveLength(2);
		const second = await search(`lat=${near.lat}&lon=${near.lon}&radius=8000&q=${run}&limit=2&cursor=${first.body.next}`);
		expect(second.body.items.map((h: { id: string }) => h.id)).toEqual([far]);
		expect(second.body.next).toBeUndefined();
		expect((await search(`lat=${near.lat}&lon=${near.lon}&radius=3000&q=${run}`)).body.items.map((h: { id: string }) => h.id)).toEqual([close, tagged]);
	});

	it("finds by text and tags without a point, and never lists private hunts", async () => {
		expect((await search(`q=Capitole%20${run}`)).body.items.map((h: { id: string }) => h.id)).toEqual([close]);
		expect((await search(`tags=Water,run${run}`)).body.items.map((h: { id: string }) => h.id)).toEqual([tagged]);
		expect((await search(`q=private%20${run}`)).body.items).toEqual([]);
		// A search box sent empty filters nothing.
		expect((await search(`lat=${near.lat}&lon=${near.lon}&radius=8000&q=&tags=`)).body.items.map((h: { id: string }) => h.id)).toContain(close);
	});

	it("hides a suspended partner's hunts until it is verified again", async () => {
		expect((await http.post(`/api/partners/${partnerId}/suspend`, { reason: "checking" }, { token: adminToken })).status).toBe(200);
		await eventually(async () => expect((await search(`lat=${near.lat}&lon=${near.lon}&radius=8000&q=${run}`)).body.items).toEqual([]), { timeoutMs: 20_000 });
		expectError(await http.get(`/api/hunts/${close}`), 404, "NOT_FOUND");
		expect((await http.post(`/api/partners/${partnerId}/verify`, {}, { token: adminToken })).status).toBe(200);
		await eventually(async () => expect((await search(`lat=${near.lat}&lon=${near.lon}&radius=8000&q=${run}`)).body.items).toHaveLength(3), { timeoutMs: 20_000 });
	});

	it("refuses what it cannot answer with a 422 naming the field", async () => {
		for (const query of [`lat=${near.lat}`, `lat=91&lon=0`, `lat=0&lon=0&radius=50001`, `lat=0&lon=0&radius=0`, "cursor=nonsense", "tags=%3Cscript%3E", "limit=51", "lat=abc&lon=0"]) {
			expectError(await search(query), 422, "VALIDATION_FAILED");
		}
	});
});

it("shows operators a hunt's graph, what blocks its publication and its zones, and lists hunts by status", async () => {
	const owner = await register("Designer");
	const partnerId = await verifiedPartner(owner);
	const huntId = (await http.post("/api/hunts", draft(partnerId, { title: "Inspected" }), { token: owner.token })).body.id;
	const a = (await http.post(`/api/hunts/${huntId}/clues`, clue(1), { token: owner.token })).body.id;
	const b = (await http.post(`/api/hunts/${huntId}/clues`, clue(2), { token: owner.token })).body.id;
	await http.put(
		`/api/hunts/${huntId}/paths`,
		{
			paths: [
				{ from: a, to: b },
				{ from: b, to: a },
			],
		},
		{ token: owner.token },
	);
	const blocked = await huntReport(node.broker, huntId);
	expect(blocked).toContain("Inspected [draft]");
	expect(blocked).toContain("starts: none");
	expect(blocked).toMatch(/CYCLE: Clue "Clue 1" is on a cycle/);
	expect(blocked).toContain("not drawn yet");
	await http.put(`/api/hunts/${huntId}/paths`, { paths: [{ from: a, to: b }] }, { token: owner.token });
	await http.post(`/api/hunts/${huntId}/publish`, {}, { token: owner.token });
	const ready = await huntReport(node.broker, huntId);
	expect(ready).toContain(`starts: Clue 1 (${a})`);
	expect(ready).toContain(`finishes: Clue 2 (${b})`);
	expect(ready).toContain("problems: none");
	expect(ready).toMatch(/Clue 1 \(-?\d+\.\d{5}, -?\d+\.\d{5}\) r=150 m/);
	const rows = await huntRows(node.broker, { status: "published", partnerId });
	expect(rows[0]).toEqual(["id", "status", "title", "partner", "clues", "window"]);
	expect(rows.slice(1).map(row => row[0])).toEqual([huntId]);
	expect((await http.get(`/api/admin/hunts?status=draft&partnerId=${partnerId}`, { token: adminToken })).body.items).toEqual([]);
	expectError(await http.get("/api/admin/hunts", { token: owner.token }), 403, "FORBIDDEN");
});

it("serves public views and searches from the cache, and drops them the moment the hunt changes", async () => {
	const owner = await register("Cached");
	const partnerId = await verifiedPartner(owner);
	const huntId = (await http.post("/api/hunts", draft(partnerId, { title: `Cached ${randomUUID().slice(0, 6)}` }), { token: owner.token })).body.id;
	await http.post(`/api/hunts/${huntId}/clues`, clue(1), { token: owner.token });
	await http.post(`/api/hunts/${huntId}/publish`, {}, { token: owner.token });
	const cache = (node.broker.getLocalService("hunts") as unknown as { viewCache: { stats(): { hits: number; misses: number } } }).viewCache;
	const before = cache.stats();
	const first = await http.get(`/api/hunts/${huntId}`);
	const second = await http.get(`/api/hunts/${huntId}`);
	expect(second.body).toEqual(first.body);
	expect(cache.stats().hits).toBeGreaterThan(before.hits);
	// Members still get their own view, never the cached public one.
	expect((await http.get(`/api/hunts/${huntId}`, { token: owner.token })).body.clues).toHaveLength(1);
	expect((await http.post(`/api/admin/hunts/${huntId}/unpublish`, { reason: "Cache test" }, { token: adminToken })).status).toBe(200);
	expectError(await http.get(`/api/hunts/${huntId}`), 404, "NOT_FOUND");
});
