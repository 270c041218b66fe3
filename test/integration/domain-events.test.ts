/**
 * The contracts' promises, kept by the running services: every broker event a contract declares is
 * really emitted, with a payload of its declared shape, by the flows that cause it; and the
 * partner-scoped form of `access` admits exactly the current members of the owning partner.
 */
import { randomUUID } from "node:crypto";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import type { Context } from "moleculer";
import { CONTRACTS } from "../../contracts";
import type { TSchema } from "../../contracts/kit";
import { rejectionOf } from "../support/async";
import { httpClient, type HttpClient } from "../support/http";
import { eventually, startTestNode, type TestNode } from "../support/node";

const ADMIN = { email: "ops@lootopia.example", password: "operator passphrase 42" };
const PASSWORD = "a perfectly fine passphrase";

const declaredEvents = new Map<string, TSchema>(
	Object.values(CONTRACTS).flatMap(contract => Object.entries(contract.events as Record<string, { payload: TSchema }>).map(([name, { payload }]) => [name, payload])),
);

let node: TestNode;
let http: HttpClient;
const received: Array<{ event: string; payload: unknown }> = [];

beforeAll(async () => {
	node = await startTestNode({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, RATE_LIMIT_PER_MINUTE: "0", REGISTRATIONS_PER_HOUR: "0" });
	http = httpClient(node.baseUrl);
	node.broker.createService({
		name: "event-recorder",
		events: Object.fromEntries([...declaredEvents.keys()].map(event => [event, (ctx: Context) => void received.push({ event, payload: ctx.params })])),
	});
	node.broker.createService({
		name: "partner-resource",
		actions: {
			edit: { access: { partner: "editor", param: "partnerId" }, handler: () => "edited" },
			manage: { access: { partner: "owner", param: "partnerId" }, handler: () => "managed" },
		},
	});
	await node.broker.waitForServices(["event-recorder", "partner-resource"]);
}, 60_000);
afterAll(() => node?.stop());

async function register(displayName: string): Promise<{ userId: string; accessToken: string; email: string }> {
	const email = `${randomUUID()}@example.com`;
	const res = await http.post("/api/auth/register", { email, password: PASSWORD, displayName });
	expect(res.status).toBe(201);
	return { userId: res.body.user.id, accessToken: res.body.accessToken, email };
}

async function signIn(email: string, password = PASSWORD): Promise<string> {
	const res = await http.post("/api/auth/login", { email, password });
	expect(res.status).toBe(200);
	return res.body.accessToken;
}

it("emits every declared domain event, each with a payload of its declared shape", async () => {
	const owner = await register("Owner");
	const editor = await register("Editor");
	const adminToken = await eventually(() => signIn(ADMIN.email, ADMIN.password), { timeoutMs: 20_000 });
	const ownerToken = await signIn(owner.email);

	expect((await http.patch("/api/users/me", { displayName: "Owner Renamed" }, { token: ownerToken })).status).toBe(200);
	const partner = await http.post("/api/partners", { name: "Event Partner" }, { token: ownerToken });
	expect(partner.status).toBe(201);
	const partnerId = partner.body.id;
	expect((await http.post(`/api/partners/${partnerId}/members`, { userId: editor.userId, role: "editor" }, { token: ownerToken })).status).toBe(200);
	expect((await http.post(`/api/partners/${partnerId}/verify`, {}, { token: adminToken })).status).toBe(200);
	const hunt = await http.post(
		"/api/hunts",
		{
			partnerId,
			title: "Events",
			description: "A hunt",
			tags: [],
			area: { lat: 48.85, lon: 2.35, radiusM: 1000 },
			startsAt: "2026-01-01T00:00:00Z",
			endsAt: "2099-01-01T00:00:00Z",
			visibility: "public",
		},
		{ token: ownerToken },
	);
	expect(hunt.status).toBe(201);
	const huntId = hunt.body.id;
	expect((await http.post(`/api/hunts/${huntId}/clues`, { title: "Only", position: { lat: 48.85, lon: 2.35 }, radiusM: 20, content: "Here", points: 1 }, { token: ownerToken })).status).toBe(201);
	expect((await http.post(`/api/hunts/${huntId}/publish`, {}, { token: ownerToken })).status).toBe(200);
	expect((await http.post(`/api/admin/hunts/${huntId}/unpublish`, { reason: "testing" }, { token: adminToken })).status).toBe(200);
	expect((await http.post(`/api/hunts/${huntId}/archive`, {}, { token: ownerToken })).status).toBe(200);
	expect((await http.post(`/api/partners/${partnerId}/suspend`, { reason: "testing" }, { token: adminToken })).status).toBe(200);
	expect((await http.post(`/api/admin/users/${editor.userId}/roles`, { role: "admin" }, { token: adminToken })).status).toBe(200);
	expect((await http.delete(`/api/admin/users/${editor.userId}/roles/admin`, { token: adminToken })).status).toBe(200);
	expect((await http.post("/api/auth/logout", {}, { token: ownerToken })).status).toBe(204);
	const leaver = await register("Leaver");
	expect((await http.request("DELETE", "/api/users/me", { token: leaver.accessToken, body: { password: PASSWORD } })).status).toBe(204);

	await eventually(async () => expect(new Set(received.map(r => r.event))).toEqual(new Set(declaredEvents.keys())), { timeoutMs: 20_000 });
	// An independent JSON Schema validator, so the check does not share TypeBox's reading of its own schemas.
	const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
	for (const { event, payload } of received) {
		const validate = ajv.compile(declaredEvents.get(event)!);
		const problems = validate(payload) ? [] : (validate.errors ?? []).map(error => `${error.instancePath} ${error.message}`);
		expect({ event, problems }).toEqual({ event, problems: [] });
	}
	const of = (event: string) => received.filter(r => r.event === event).map(r => r.payload);
	expect(of("user.registered")).toEqual(expect.arrayContaining([expect.objectContaining({ userId: owner.userId, displayName: "Owner" })]));
	expect(of("partner.created")).toEqual([expect.objectContaining({ partnerId, ownerId: owner.userId })]);
	expect(of("partner.membership.changed")).toEqual([expect.objectContaining({ partnerId, userId: editor.userId, role: "editor" })]);
	expect(of("user.roles.changed")).toEqual([
		expect.objectContaining({ userId: editor.userId, granted: true, roles: ["player", "admin"] }),
		expect.objectContaining({ userId: editor.userId, granted: false, roles: ["player"] }),
	]);
	expect(of("user.deleted")).toEqual([expect.objectContaining({ userId: leaver.userId })]);
}, 60_000);

it("admits a partner's current members to partner-scoped actions, by role, and nobody else", async () => {
	const owner = await register("Scoped Owner");
	const member = await register("Scoped Member");
	const outsider = await register("Outsider");
	const partner = await http.post("/api/partners", { name: "Scoped Partner" }, { token: owner.accessToken });
	const partnerId = partner.body.id;
	const as = (token: string, action: "edit" | "manage", id: unknown = partnerId) => node.broker.call(`partner-resource.${action}`, { partnerId: id }, { meta: { accessToken: token } });

	expect(await as(owner.accessToken, "edit")).toBe("edited");
	expect(await as(owner.accessToken, "manage")).toBe("managed");
	expect(await rejectionOf(as(member.accessToken, "edit"))).toMatchObject({ code: 403, type: "FORBIDDEN" });

	expect((await http.post(`/api/partners/${partnerId}/members`, { userId: member.userId, role: "editor" }, { token: owner.accessToken })).status).toBe(200);
	// The same token as before: membership is looked up at the call, not read from the token.
	expect(await as(member.accessToken, "edit")).toBe("edited");
	expect(await rejectionOf(as(member.accessToken, "manage"))).toMatchObject({ code: 403 });
	expect(await rejectionOf(as(outsider.accessToken, "edit"))).toMatchObject({ code: 403 });
	expect(await rejectionOf(as(outsider.accessToken, "edit", { $ne: null }))).toMatchObject({ code: 403 });
	expect(await rejectionOf(node.broker.call("partner-resource.edit", { partnerId }))).toMatchObject({ code: 401 });

	expect((await http.delete(`/api/partners/${partnerId}/members/${member.userId}`, { token: owner.accessToken })).status).toBe(204);
	expect(await rejectionOf(as(member.accessToken, "edit"))).toMatchObject({ code: 403 });
}, 60_000);

it("serves the event catalogue generated from the same contracts, and a page rendering it", async () => {
	const doc = await http.get("/api/asyncapi.json");
	expect(doc.status).toBe(200);
	expect(doc.body).toMatchObject({ asyncapi: "3.1.0", info: { title: "Lootopia events" } });
	const names = Object.values(doc.body.components.messages as Record<string, { name: string }>).map(message => message.name);
	expect(names).toEqual(expect.arrayContaining([...declaredEvents.keys(), "audit.facts", "users.deleted"]));
	const page = await http.get("/api/docs/events");
	expect(page.status).toBe(200);
	expect(page.headers.get("content-type")).toMatch(/^text\/html/);
	expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
	expect(page.text).toContain("<code>user.registered</code>");
});
