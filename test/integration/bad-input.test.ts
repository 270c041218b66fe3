/**
 * Input no schema rules out, sent to every kind of operation the node serves: text PostgreSQL
 * cannot store, broken Unicode, JSON nested 10,000 deep, bodies that do not decompress. Each gets a
 * clear 4xx, changes nothing, and a burst of them leaves the circuit breaker shut for everyone else.
 */
import zlib from "node:zlib";
import { randomUUID } from "node:crypto";
import { expectError, httpClient, type HttpClient } from "../support/http";
import { startTestNode, type TestNode } from "../support/node";

const PASSWORD = "a perfectly fine passphrase";
const deep = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

describe("bad input through the gateway", () => {
	let node: TestNode;
	let http: HttpClient;
	let token: string;
	let refreshToken: string;

	beforeAll(async () => {
		node = await startTestNode({ RATE_LIMIT_PER_MINUTE: "0", REGISTRATIONS_PER_HOUR: "0" });
		http = httpClient(node.baseUrl);
		const registered = await http.post("/api/auth/register", { email: `bad-input-${randomUUID().slice(0, 8)}@example.com`, password: PASSWORD, displayName: "Tester" });
		expect(registered.status).toBe(201);
		token = registered.body.accessToken;
		refreshToken = registered.body.refreshToken;
	});
	afterAll(() => node?.stop());

	/** One malformed request per kind of operation: anonymous, signed-in, create, update, token. */
	const targets = () => [
		{ method: "POST", path: "/api/auth/register", body: (v: string) => `{"email":${v},"password":"${PASSWORD}","displayName":"X"}` },
		{ method: "POST", path: "/api/auth/login", body: (v: string) => `{"email":"someone@example.com","password":${v}}` },
		{ method: "POST", path: "/api/auth/refresh", body: (v: string) => `{"refreshToken":${v}}` },
		{ method: "PATCH", path: "/api/users/me", body: (v: string) => `{"displayName":${v}}`, token },
		{ method: "POST", path: "/api/partners", body: (v: string) => `{"name":${v}}`, token },
	];

	it("answers a NUL character with 422 naming the field, wherever it is sent", async () => {
		for (const target of targets()) {
			const res = await http.request(target.method, target.path, { body: target.body(JSON.stringify("bad\u0000value")), token: target.token });
			expectError(res, 422, "VALIDATION_FAILED");
			expect(res.body.error.details).toEqual([expect.objectContaining({ message: expect.stringContaining("NUL") })]);
		}
	});

	it("answers broken Unicode (a lone surrogate) with 422", async () => {
		for (const target of targets()) expectError(await http.request(target.method, target.path, { body: target.body('"\\ud800x"'), token: target.token }), 422, "VALIDATION_FAILED");
	});

	it("answers JSON nested 10,000 deep with 400 instead of overflowing the stack", async () => {
		for (const target of targets()) expectError(await http.request(target.method, target.path, { body: target.body(deep(10_000)), token: target.token }), 400, "INPUT_TOO_DEEP");
	});

	it("answers a gzip, deflate or br body that does not decompress with 400", async () => {
		for (const encoding of ["gzip", "deflate", "br"]) {
			const res = await http.request("POST", "/api/auth/login", { body: "this is not compressed", headers: { "Content-Encoding": encoding } });
			expectError(res, 400, "BODY_UNREADABLE");
		}
		// A body that really is compressed is read as usual.
		const compressed = zlib.gzipSync(JSON.stringify({ email: "nobody@example.com", password: "wrong password here" }));
		const res = await fetch(`${node.baseUrl}/api/auth/login`, { method: "POST", headers: { "Content-Type": "application/json", "Content-Encoding": "gzip" }, body: compressed });
		expect(res.status).toBe(401);
	});

	it("changes nothing: the account and session are as they were", async () => {
		const me = await http.get("/api/users/me", { token });
		expect(me.body.displayName).toBe("Tester");
		const refreshed = await http.post("/api/auth/refresh", { refreshToken });
		expect(refreshed.status).toBe(200);
		refreshToken = refreshed.body.refreshToken;
		token = refreshed.body.accessToken;
	});

	it("keeps the circuit breaker shut after a burst of bad requests: everyone else's login still works", async () => {
		const email = `victim-${randomUUID().slice(0, 8)}@example.com`;
		expect((await http.post("/api/auth/register", { email, password: PASSWORD, displayName: "Victim" })).status).toBe(201);
		// Well past the breaker's 20-request minimum, every one of them failing.
		const statuses = await Promise.all(
			Array.from({ length: 60 }, (_, i) => {
				const target = targets()[i % 2];
				// Keys that read like a lost database connection must not be taken for one.
				const poisonedKeys = '{"Connection terminated":'.repeat(40) + "1" + "}".repeat(40);
				const value = [deep(10_000), JSON.stringify(`x\u0000${i}`), poisonedKeys][i % 3];
				return http.request(target.method, target.path, { body: target.body(value) }).then(res => res.status);
			}),
		);
		expect(statuses.filter(status => status >= 500)).toEqual([]);
		const login = await http.post("/api/auth/login", { email, password: PASSWORD });
		expect(login.status).toBe(200);
		const refreshed = await http.post("/api/auth/refresh", { refreshToken });
		expect(refreshed.status).toBe(200);
		refreshToken = refreshed.body.refreshToken;
	});

	it("keeps the breaker shut when the bad calls come over the broker, past the gateway's own check", async () => {
		const email = `direct-${randomUUID().slice(0, 8)}@example.com`;
		expect((await http.post("/api/auth/register", { email, password: PASSWORD, displayName: "Direct" })).status).toBe(201);
		let poisoned: Record<string, unknown> = { leaf: 1 };
		for (let i = 0; i < 40; i++) poisoned = { "Connection terminated": poisoned };
		const outcomes = await Promise.all(
			Array.from({ length: 60 }, (_, i) =>
				node.broker.call("auth.login", i % 2 ? { email, password: poisoned } : { email: `x\u0000${i}@example.com`, password: PASSWORD }).then(
					() => "accepted",
					(err: { code?: number; type?: string }) => `${err.code} ${err.type}`,
				),
			),
		);
		expect(new Set(outcomes)).toEqual(new Set(["400 INPUT_TOO_DEEP", "422 VALIDATION_FAILED"]));
		expect(await node.broker.call("auth.login", { email, password: PASSWORD })).toMatchObject({ user: expect.objectContaining({ email }) });
	});

	// Last: it leaves this address throttled for refreshes.
	it("throttles refresh tokens that do not work, per address, like failed logins (429 with Retry-After)", async () => {
		const statuses: number[] = [];
		for (let i = 0; i < 32; i++) statuses.push((await http.post("/api/auth/refresh", { refreshToken: `not-a-token-${i}` })).status);
		expect(statuses.slice(0, 31)).toEqual(Array(31).fill(401));
		const throttled = await http.post("/api/auth/refresh", { refreshToken: "not-a-token-either" });
		expectError(throttled, 429, "REFRESH_THROTTLED");
		expect(Number(throttled.headers.get("retry-after"))).toBeGreaterThan(0);
		// A token that works still works from the throttled address: only failures are held back.
		expect((await http.post("/api/auth/refresh", { refreshToken })).status).toBe(200);
	});
});
