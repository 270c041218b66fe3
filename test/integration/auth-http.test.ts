/**
 * What HTTP clients of the identity endpoints rely on beyond the bodies: a stale token never locks
 * a client out of public operations, every 401 says which scheme it wants (and whether the token was
 * the problem), and nothing that carries tokens or personal data is cached.
 */
import { randomUUID } from "node:crypto";
import { expectError, httpClient, type HttpClient } from "../support/http";
import { startTestNode, type TestNode } from "../support/node";

const PASSWORD = "a perfectly fine passphrase";

describe("identity over HTTP: challenges, caching, stale tokens", () => {
	let node: TestNode;
	let http: HttpClient;
	let email: string;
	let accessToken: string;

	beforeAll(async () => {
		node = await startTestNode({ RATE_LIMIT_PER_MINUTE: "0", REGISTRATIONS_PER_HOUR: "0" });
		http = httpClient(node.baseUrl);
		email = `http-${randomUUID().slice(0, 8)}@example.com`;
		const registered = await http.post("/api/auth/register", { email, password: PASSWORD, displayName: "Http" });
		expect(registered.status).toBe(201);
		accessToken = registered.body.accessToken;
	});
	afterAll(() => node?.stop());

	const broken = () => `${accessToken.slice(0, -6)}AAAAAA`;

	it("serves public operations to a client whose token is broken or expired, as anonymous", async () => {
		const login = await http.post("/api/auth/login", { email, password: PASSWORD }, { token: broken() });
		expect(login.status).toBe(200);
		expect((await http.get("/api/ping", { token: broken() })).status).toBe(200);
		const refreshed = await http.post("/api/auth/refresh", { refreshToken: login.body.refreshToken }, { token: broken() });
		expect(refreshed.status).toBe(200);
		// Guarded operations still refuse it.
		expectError(await http.get("/api/users/me", { token: broken() }), 401, "INVALID_TOKEN");
	});

	it("names the Bearer scheme on every 401, and says when the token was the problem", async () => {
		const anonymous = await http.get("/api/users/me");
		expectError(anonymous, 401, "UNAUTHENTICATED");
		expect(anonymous.headers.get("www-authenticate")).toBe('Bearer realm="lootopia"');
		const invalid = await http.get("/api/users/me", { token: broken() });
		expect(invalid.headers.get("www-authenticate")).toBe('Bearer realm="lootopia", error="invalid_token"');
		const wrongPassword = await http.post("/api/auth/login", { email, password: "not the password at all" });
		expectError(wrongPassword, 401, "INVALID_CREDENTIALS");
		expect(wrongPassword.headers.get("www-authenticate")).toBe('Bearer realm="lootopia"');
	});

	it("marks token and profile responses, and errors, as not to be stored", async () => {
		const login = await http.post("/api/auth/login", { email, password: PASSWORD });
		expect(login.headers.get("cache-control")).toBe("no-store");
		expect((await http.get("/api/users/me", { token: login.body.accessToken })).headers.get("cache-control")).toBe("no-store");
		expect((await http.get("/api/nowhere")).headers.get("cache-control")).toBe("no-store");
		// Static documentation assets are the exception.
		expect((await http.get("/api/docs/assets/swagger-ui.css")).headers.get("cache-control")).toBe("public, max-age=86400");
	});

	it("refuses control, invisible formatting and direction-override characters in emails and display names", async () => {
		const base = { password: PASSWORD, displayName: "Fine" };
		for (const displayName of ["Ana\u202Egnp.exe", "zero\u200Bwidth", "tab\there", "line\u2028break"]) {
			const res = await http.post("/api/auth/register", { ...base, email: `p-${randomUUID().slice(0, 8)}@example.com`, displayName });
			expectError(res, 422, "VALIDATION_FAILED");
			expect(res.body.error.details).toEqual([expect.objectContaining({ field: "displayName", message: expect.stringContaining("direction-override") })]);
		}
		const spoofed = await http.post("/api/auth/register", { ...base, email: `moc.\u202Eevil-${randomUUID().slice(0, 6)}@example.com` });
		expectError(spoofed, 422, "VALIDATION_FAILED");
		expect(spoofed.body.error.details).toEqual([expect.objectContaining({ field: "email" })]);
		// Emoji sequences (joined with U+200D) and every script stay welcome.
		const family = await http.post("/api/auth/register", { ...base, email: `f-${randomUUID().slice(0, 8)}@example.com`, displayName: "Ана 👨\u200D👩\u200D👧 宝" });
		expect(family.status).toBe(201);
		// The same rule where a name is changed.
		expectError(await http.patch("/api/users/me", { displayName: "x\u202Ey" }, { token: family.body.accessToken }), 422, "VALIDATION_FAILED");
	});

	it("takes a password or refresh token only from the JSON body, never the URL", async () => {
		const password = encodeURIComponent(PASSWORD);
		const login = await http.post(`/api/auth/login?password=${password}`, { email, password: PASSWORD });
		expectError(login, 422, "VALIDATION_FAILED");
		expect(login.body.error.details).toEqual([expect.objectContaining({ field: "password", message: expect.stringContaining("never in the URL") })]);
		expectError(await http.post("/api/auth/refresh?refreshToken=x", { refreshToken: "x" }), 422, "VALIDATION_FAILED");
		const me = await http.post("/api/auth/login", { email, password: PASSWORD });
		expectError(await http.request("DELETE", `/api/users/me?password=${password}`, { token: me.body.accessToken }), 422, "VALIDATION_FAILED");
		// Nothing was deleted.
		expect((await http.get("/api/users/me", { token: me.body.accessToken })).status).toBe(200);
	});

	it("keeps the only owner of a partner from deleting the account until someone else owns it", async () => {
		const owner = await http.post("/api/auth/register", { email: `owner-${randomUUID().slice(0, 8)}@example.com`, password: PASSWORD, displayName: "Owner" });
		const heir = await http.post("/api/auth/register", { email: `heir-${randomUUID().slice(0, 8)}@example.com`, password: PASSWORD, displayName: "Heir" });
		const partner = await http.post("/api/partners", { name: "Only Owner Café" }, { token: owner.body.accessToken });
		expect(partner.status).toBe(201);

		const refused = await http.request("DELETE", "/api/users/me", { token: owner.body.accessToken, body: { password: PASSWORD } });
		expectError(refused, 409, "LAST_OWNER");
		expect(refused.body.error.details).toEqual({ partnerIds: [partner.body.id] });
		expect((await http.get("/api/users/me", { token: owner.body.accessToken })).status).toBe(200);

		const handedOver = await http.post(`/api/partners/${partner.body.id}/members`, { userId: heir.body.user.id, role: "owner" }, { token: owner.body.accessToken });
		expect(handedOver.status).toBeLessThan(300);
		const deleted = await http.request("DELETE", "/api/users/me", { token: owner.body.accessToken, body: { password: PASSWORD } });
		expect(deleted.status).toBe(204);
	});
});
