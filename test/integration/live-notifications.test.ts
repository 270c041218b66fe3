/**
 * Live notifications through the gateway, over HTTP and WebSocket as clients use them: a user's own
 * notifications as they are created, in order; a reconnection with Last-Event-ID gets what it missed
 * first, once each, even when notifications arrive during that catch-up or a broadcast was lost;
 * refusals are the REST envelope (or a close code once a WebSocket is open), never a hanging stream
 * or a 5xx; the bounds per user and per node; a logout or an expired token ends the stream within
 * seconds; operators list a user's connections on every gateway node.
 */
import { randomUUID } from "node:crypto";
import { nodeBackends } from "../../platform/runtime/node-backends";
import { signAccessToken } from "../../platform/identity/tokens";
import { liveReplCommands } from "../../services/api.repl";
import { expectError, httpClient, type HttpClient } from "../support/http";
import { HUNT_TEST_ENV, signInAdmin, signUp, TEST_PASSWORD } from "../support/hunts";
import { fakeNotifications, openSse, openWs, type SseClient, type WsClient } from "../support/live";
import { eventually, startTestNode, type TestNode } from "../support/node";

jest.setTimeout(60_000);

const STREAM = "/api/notifications/stream";

function wsUrl(node: TestNode, query = ""): string {
	return `${node.baseUrl.replace("http", "ws")}/api/notifications/ws${query}`;
}

describe("live notifications on one gateway node", () => {
	let node: TestNode;
	let http: HttpClient;
	let inbox: ReturnType<typeof fakeNotifications>;
	const open: Array<SseClient | WsClient> = [];
	const track = <C extends SseClient | WsClient>(client: C): C => (open.push(client), client);

	beforeAll(async () => {
		node = await startTestNode({ ...HUNT_TEST_ENV, SERVICES: "api,auth,users,partners", LIVE_HEARTBEAT_SECONDS: "1", LIVE_SESSION_CHECK_SECONDS: "1", LIVE_MAX_CONNECTIONS_PER_USER: "3" });
		inbox = fakeNotifications(node.broker);
		await node.broker.waitForServices(["notifications"]);
		http = httpClient(node.baseUrl);
	});
	afterEach(() => {
		for (const client of open.splice(0))
			if ("ws" in client) client.ws.terminate();
			else client.close();
	});
	afterAll(() => node?.stop());

	describe("server-sent events", () => {
		it("refuses a request without a valid bearer token at once, with the error envelope", async () => {
			for (const headers of [{}, { Authorization: "Bearer not-a-token" }, { Authorization: "Basic abc" }] as Array<Record<string, string>>) {
				const refused = await openSse(node.baseUrl, STREAM, headers);
				expect(refused.status).toBe(401);
				expect(refused.headers["content-type"]).toMatch(/^application\/json/);
				expect(refused.headers["www-authenticate"]).toMatch(/^Bearer/);
				expect(JSON.parse(refused.body).error.code).toMatch(/^(UNAUTHENTICATED|INVALID_TOKEN)$/);
				expect(refused.ended).toBe(true);
			}
		});

		it("refuses a Last-Event-ID that is not a notification number with 400", async () => {
			const ana = await signUp(http, "Ana");
			for (const bad of ["abc", "-1", "1.5", "99999999999999999999"]) {
				const res = await http.get(STREAM, { token: ana.token, headers: { "Last-Event-ID": bad } });
				expectError(res, 400, "INVALID_LAST_EVENT_ID");
			}
			expectError(await http.get(`${STREAM}?lastEventId=x`, { token: ana.token }), 400, "INVALID_LAST_EVENT_ID");
		});

		it("streams the user's own notifications as they are created, with the stream's headers and the gateway's", async () => {
			const ana = await signUp(http, "Ana");
			const bob = await signUp(http, "Bob");
			const client = track(await openSse(node.baseUrl, STREAM, { Authorization: `Bearer ${ana.token}`, "X-Request-ID": "live-test-request-1" }));
			expect(client.status).toBe(200);
			expect(client.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
			expect(client.headers["cache-control"]).toContain("no-cache");
			expect(client.headers["x-accel-buffering"]).toBe("no");
			expect(client.headers["x-request-id"]).toBe("live-test-request-1");
			expect(client.headers["x-content-type-options"]).toBe("nosniff");
			expect(client.headers["content-security-policy"]).toContain("default-src 'none'");
			await client.waitFor(c => c.comments.includes("connected"));
			const created = [await inbox.create(ana.userId), await inbox.create(bob.userId), await inbox.create(ana.userId)];
			await client.waitFor(c => c.notifications().length === 2);
			expect(client.events.filter(e => e.event === "notification").map(e => e.id)).toEqual(["1", "2"]);
			expect(client.notifications()).toEqual([created[0], created[2]]);
		});

		it("sends a comment line as a heartbeat while nothing happens", async () => {
			const ana = await signUp(http, "Ana");
			const client = track(await openSse(node.baseUrl, STREAM, { Authorization: `Bearer ${ana.token}` }));
			await client.waitFor(c => c.comments.includes("heartbeat"), 5_000);
		});

		it("resumes after Last-Event-ID: what was missed first, in order, then what arrived meanwhile, each once", async () => {
			const ana = await signUp(http, "Ana");
			for (let i = 0; i < 3; i++) await inbox.create(ana.userId);
			// The inbox answers only once notifications 4 and 5 were broadcast during the catch-up.
			const release = inbox.holdSince();
			const client = track(await openSse(node.baseUrl, STREAM, { Authorization: `Bearer ${ana.token}`, "Last-Event-ID": "1" }));
			await client.waitFor(c => c.comments.includes("connected"));
			const calls = inbox.sinceCalls.length;
			await inbox.create(ana.userId);
			await inbox.create(ana.userId);
			release();
			await client.waitFor(c => c.notifications().length >= 4);
			await inbox.create(ana.userId);
			await client.waitFor(c => c.notifications().length >= 5);
			expect(client.notifications().map(n => n.id)).toEqual([2, 3, 4, 5, 6]);
			expect(inbox.sinceCalls.length).toBeGreaterThanOrEqual(calls);
		});

		it("fetches a notification whose broadcast was lost as soon as a later one shows the gap", async () => {
			const ana = await signUp(http, "Ana");
			const client = track(await openSse(node.baseUrl, STREAM, { Authorization: `Bearer ${ana.token}` }));
			await client.waitFor(c => c.comments.includes("connected"));
			await inbox.create(ana.userId);
			await client.waitFor(c => c.notifications().length === 1);
			await inbox.create(ana.userId, { broadcast: false });
			await inbox.create(ana.userId, { push: false, broadcast: false });
			await inbox.create(ana.userId);
			await client.waitFor(c => c.notifications().length === 3);
			expect(client.notifications().map(n => n.id)).toEqual([1, 2, 4]);
		});

		it("ends the stream when the access token expires, saying so", async () => {
			const ana = await signUp(http, "Ana");
			const ring = await nodeBackends(node.broker).signingRing();
			const { issuer, audience } = node.config.auth;
			const shortLived = await signAccessToken(ring, { sub: ana.userId, roles: ["player"], partners: {}, sid: randomUUID() }, { issuer, audience, accessTtlSeconds: 2 });
			const client = track(await openSse(node.baseUrl, STREAM, { Authorization: `Bearer ${shortLived}` }));
			expect(client.status).toBe(200);
			await client.waitFor(c => c.ended, 8_000);
			expect(client.events.at(-1)).toEqual({ event: "close", data: JSON.stringify({ code: "TOKEN_EXPIRED" }) });
		});
	});

	describe("WebSocket", () => {
		it("pushes the user's notifications to a socket authenticated by its upgrade request", async () => {
			const ana = await signUp(http, "Ana");
			const client = track(await openWs(wsUrl(node), { headers: { Authorization: `Bearer ${ana.token}` } }));
			await eventuallyAttached(ana.userId, 1);
			const created = await inbox.create(ana.userId);
			await client.waitFor(c => c.notifications().length === 1);
			expect(client.messages).toEqual([{ type: "notification", notification: created }]);
		});

		it("authenticates a browser's socket by its first message, resuming after its lastEventId", async () => {
			const ana = await signUp(http, "Ana");
			for (let i = 0; i < 3; i++) await inbox.create(ana.userId);
			const client = track(await openWs(wsUrl(node)));
			client.ws.send(JSON.stringify({ type: "auth", token: ana.token, lastEventId: 1 }));
			await client.waitFor(c => c.notifications().length === 2);
			await inbox.create(ana.userId);
			await client.waitFor(c => c.notifications().length === 3);
			expect(client.notifications().map(n => n.id)).toEqual([2, 3, 4]);
			// The query parameter resumes too.
			const other = track(await openWs(wsUrl(node, "?lastEventId=3"), { headers: { Authorization: `Bearer ${ana.token}` } }));
			await other.waitFor(c => c.notifications().length === 1);
			expect(other.notifications()[0].id).toBe(4);
		});

		it("refuses a token in the URL, a bad lastEventId and a bad token before upgrading, with the envelope", async () => {
			const ana = await signUp(http, "Ana");
			const refused = async (url: string, headers?: Record<string, string>) =>
				(await openWs(url, { headers }).then(
					() => Promise.reject(new Error("opened")),
					err => err,
				)) as { status: number; body: any; headers: Record<string, string> };
			const inUrl = await refused(wsUrl(node, `?access_token=${ana.token}`));
			expect({ status: inUrl.status, code: inUrl.body.error.code }).toEqual({ status: 400, code: "BAD_REQUEST" });
			const badResume = await refused(wsUrl(node, "?lastEventId=-4"), { Authorization: `Bearer ${ana.token}` });
			expect({ status: badResume.status, code: badResume.body.error.code }).toEqual({ status: 400, code: "INVALID_LAST_EVENT_ID" });
			const badToken = await refused(wsUrl(node), { Authorization: "Bearer nope" });
			expect({ status: badToken.status, code: badToken.body.error.code }).toEqual({ status: 401, code: "INVALID_TOKEN" });
			expect(badToken.headers["x-request-id"]).toBeTruthy();
			const elsewhere = await refused(`${node.baseUrl.replace("http", "ws")}/api/ping`);
			expect({ status: elsewhere.status, code: elsewhere.body.error.code }).toEqual({ status: 404, code: "ROUTE_NOT_FOUND" });
		});

		it("closes with a code for a bad first message, a bad token in it, an oversized frame, a message after auth and silence", async () => {
			const ana = await signUp(http, "Ana");
			const closedWith = async (send: (client: WsClient) => void, timeoutMs = 3_000) => {
				const client = track(await openWs(wsUrl(node)));
				send(client);
				await client.waitFor(c => c.closed !== undefined, timeoutMs);
				return client.closed;
			};
			expect(await closedWith(c => c.ws.send("not json"))).toEqual({ code: 4400, reason: "BAD_REQUEST" });
			expect(await closedWith(c => c.ws.send(JSON.stringify({ type: "auth", token: ana.token, lastEventId: "x" })))).toEqual({ code: 4400, reason: "BAD_REQUEST" });
			expect(await closedWith(c => c.ws.send(Buffer.from([1, 2, 3])))).toEqual({ code: 4400, reason: "BAD_REQUEST" });
			expect(await closedWith(c => c.ws.send(JSON.stringify({ type: "auth", token: "forged" })))).toEqual({ code: 4401, reason: "INVALID_TOKEN" });
			expect((await closedWith(c => c.ws.send("x".repeat(64 * 1024))))?.code).toBe(1009);
			const afterAuth = track(await openWs(wsUrl(node)));
			afterAuth.ws.send(JSON.stringify({ type: "auth", token: ana.token }));
			await eventuallyAttached(ana.userId, 1);
			afterAuth.ws.send("hello");
			await afterAuth.waitFor(c => c.closed !== undefined);
			expect(afterAuth.closed).toEqual({ code: 4400, reason: "BAD_REQUEST" });
			expect(await closedWith(() => undefined, 8_000)).toEqual({ code: 4401, reason: "UNAUTHENTICATED" });
		});

		it("drops a client that does not answer pings", async () => {
			const ana = await signUp(http, "Ana");
			const client = track(await openWs(wsUrl(node), { headers: { Authorization: `Bearer ${ana.token}` }, autoPong: false }));
			// Heartbeats every second: the second ping finds the first unanswered.
			await client.waitFor(c => c.closed !== undefined, 6_000);
			expect(client.closed?.code).toBe(1006);
			await eventuallyAttached(ana.userId, 0);
		});
	});

	describe("sessions and bounds", () => {
		it("closes a session's open streams within seconds of its logout, and refuses its token afterwards", async () => {
			const email = `${randomUUID()}@example.com`;
			await http.post("/api/auth/register", { email, password: TEST_PASSWORD, displayName: "Leaving" });
			const login = await http.post("/api/auth/login", { email, password: TEST_PASSWORD });
			const token = login.body.accessToken as string;
			const sse = track(await openSse(node.baseUrl, STREAM, { Authorization: `Bearer ${token}` }));
			const ws = track(await openWs(wsUrl(node), { headers: { Authorization: `Bearer ${token}` } }));
			await eventuallyAttached(login.body.user.id, 2);
			expect((await http.post("/api/auth/logout", {}, { token })).status).toBeLessThan(300);
			await sse.waitFor(c => c.ended, 5_000);
			expect(sse.events.at(-1)).toEqual({ event: "close", data: JSON.stringify({ code: "SESSION_REVOKED" }) });
			await ws.waitFor(c => c.closed !== undefined, 5_000);
			expect(ws.closed).toEqual({ code: 4401, reason: "SESSION_REVOKED" });
			expect((await openSse(node.baseUrl, STREAM, { Authorization: `Bearer ${token}` })).status).toBe(401);
		});

		it("refuses a user's connection past the bound, SSE and WebSocket alike, and admits one again when one closes", async () => {
			const ana = await signUp(http, "Ana");
			const auth = { Authorization: `Bearer ${ana.token}` };
			const first = track(await openSse(node.baseUrl, STREAM, auth));
			track(await openSse(node.baseUrl, STREAM, auth));
			track(await openWs(wsUrl(node), { headers: auth }));
			await eventuallyAttached(ana.userId, 3);
			expectError(await http.get(STREAM, { token: ana.token }), 429, "TOO_MANY_CONNECTIONS");
			const upgrade = await openWs(wsUrl(node), { headers: auth }).catch(err => err);
			expect({ status: upgrade.status, code: upgrade.body?.error?.code }).toEqual({ status: 429, code: "TOO_MANY_CONNECTIONS" });
			const byMessage = track(await openWs(wsUrl(node)));
			byMessage.ws.send(JSON.stringify({ type: "auth", token: ana.token }));
			await byMessage.waitFor(c => c.closed !== undefined);
			expect(byMessage.closed).toEqual({ code: 4429, reason: "TOO_MANY_CONNECTIONS" });
			// Another user is not affected.
			const bob = await signUp(http, "Bob");
			expect(track(await openSse(node.baseUrl, STREAM, { Authorization: `Bearer ${bob.token}` })).status).toBe(200);
			first.close();
			await eventuallyAttached(ana.userId, 2);
			expect(track(await openSse(node.baseUrl, STREAM, auth)).status).toBe(200);
		});

		it("lists a user's connections for admins and operators, on every gateway node, and to no one else", async () => {
			const ana = await signUp(http, "Ana");
			track(await openSse(node.baseUrl, STREAM, { Authorization: `Bearer ${ana.token}`, "Last-Event-ID": "0" }));
			track(await openWs(wsUrl(node), { headers: { Authorization: `Bearer ${ana.token}` } }));
			const admin = await signInAdmin(http);
			const listed = await eventuallyAttached(ana.userId, 2, admin);
			expect(listed.items.map(c => c.transport).sort()).toEqual(["sse", "ws"]);
			expect(listed.items[0]).toMatchObject({ userId: ana.userId, sessionPrefix: expect.stringMatching(/^[0-9a-f-]{8}$/), connectedAt: expect.any(String) });
			expect(listed.items.find(c => c.transport === "sse")?.lastEventId).toBe(0);
			await expect(node.broker.call("api.liveConnections", { userId: ana.userId }, { meta: { accessToken: ana.token } })).rejects.toMatchObject({ type: "FORBIDDEN" });
			await expect(node.broker.call("api.liveConnections", { userId: "not-a-uuid" }, { meta: { accessToken: admin } })).rejects.toMatchObject({ code: 422 });
			// The REPL command asks each gateway node and prints one table.
			const printed: string[][][] = [];
			const log = jest.spyOn(console, "log").mockImplementation(() => undefined);
			try {
				await liveReplCommands[0].action(node.broker, { userId: ana.userId, options: {} }, { table: rows => (printed.push(rows), "") });
			} finally {
				log.mockRestore();
			}
			expect(printed).toHaveLength(1);
			expect(printed[0].slice(1).map(row => [row[0], row[1]])).toEqual(
				expect.arrayContaining([
					[node.broker.nodeID, "sse"],
					[node.broker.nodeID, "ws"],
				]),
			);
		});
	});

	describe("documentation", () => {
		it("describes the stream and the WebSocket in the OpenAPI document", async () => {
			const doc = (await http.get("/api/openapi.json")).body;
			expect(doc.paths[STREAM].get).toMatchObject({ operationId: "notifications.stream", security: [{ bearerAuth: [] }] });
			expect(Object.keys(doc.paths[STREAM].get.responses)).toEqual(expect.arrayContaining(["200", "400", "401", "429", "503"]));
			expect(doc.paths["/api/notifications/ws"].get.responses["101"]).toBeDefined();
		});
	});

	/** Until this node holds `count` connections of the user (attached: authenticated, feed started). */
	async function eventuallyAttached(userId: string, count: number, adminToken?: string) {
		const token = adminToken ?? (await signInAdmin(http));
		let listed!: { items: Array<{ transport: string; lastEventId?: number; userId: string }> };
		await eventually(async () => {
			listed = await node.broker.call("api.liveConnections", { userId }, { meta: { accessToken: token } });
			expect(listed.items).toHaveLength(count);
		});
		return listed;
	}
});

describe("live notifications: the node-wide bound and shutting down", () => {
	let node: TestNode;
	let http: HttpClient;

	beforeAll(async () => {
		node = await startTestNode({ ...HUNT_TEST_ENV, SERVICES: "api,auth,users,partners", LIVE_MAX_CONNECTIONS: "2", LIVE_MAX_CONNECTIONS_PER_USER: "5", SHUTDOWN_TIMEOUT_MS: "20000" });
		fakeNotifications(node.broker);
		http = httpClient(node.baseUrl);
	});
	// The test stops it itself; this is for when it failed before.
	afterAll(() => node?.stop().catch(() => undefined));

	it("answers 503 LIVE_CAPACITY_REACHED past the node's bound, and closes every stream at once when the node stops", async () => {
		const ana = await signUp(http, "Ana");
		const auth = { Authorization: `Bearer ${ana.token}` };
		const sse = await openSse(node.baseUrl, STREAM, auth);
		const ws = await openWs(wsUrl(node), { headers: auth });
		const full = await http.get(STREAM, { token: ana.token });
		expectError(full, 503, "LIVE_CAPACITY_REACHED");
		expect(Number(full.headers.get("retry-after"))).toBeGreaterThan(0);
		const upgrade = await openWs(wsUrl(node), { headers: auth }).catch(err => err);
		expect({ status: upgrade.status, code: upgrade.body?.error?.code }).toEqual({ status: 503, code: "LIVE_CAPACITY_REACHED" });
		// Open streams do not hold up a stop for the shutdown timeout (20 s here).
		const started = Date.now();
		await node.stop();
		expect(Date.now() - started).toBeLessThan(10_000);
		await sse.waitFor(c => c.ended);
		expect(sse.events.at(-1)).toEqual({ event: "close", data: JSON.stringify({ code: "SHUTTING_DOWN" }) });
		await ws.waitFor(c => c.closed !== undefined);
		expect(ws.closed?.code).toBe(1001);
	});
});
