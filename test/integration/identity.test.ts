/**
 * Identity and access through the node `npm start` builds: HTTP for what clients do, direct broker
 * calls for what a caller on the transporter could try. Every refusal is checked for its status and
 * code, and for having changed nothing.
 */
import path from "node:path";
import { randomUUID } from "node:crypto";
import { readKeyRing } from "../../platform/identity/key-store";
import { generateSigningKey, signAccessToken, type KeyRing } from "../../platform/identity/tokens";
import { DEV_KEYS_FILE } from "../../platform/identity/key-store";
import { expectError, httpClient, type HttpClient } from "../support/http";
import { eventually, startTestNode, type TestNode } from "../support/node";
import { rejectionOf } from "../support/async";
import { describeWithBackend } from "../support/backends";
import { deleteKafkaTopics } from "../support/kafka";
import { scratchDatabase } from "../support/sql";
import { grantAdmin } from "../../services/auth.repl";

const ADMIN = { email: "ops@lootopia.example", password: "operator passphrase 42" };
const PASSWORD = "a perfectly fine passphrase";

let node: TestNode;
let http: HttpClient;
let ring: KeyRing;

interface Session {
	userId: string;
	accessToken: string;
	refreshToken: string;
}

async function register(email: string, displayName = "Player"): Promise<Session> {
	const res = await http.post("/api/auth/register", { email, password: PASSWORD, displayName });
	expect(res.status).toBe(201);
	expect(res.headers.get("location")).toBe(`/api/users/${res.body.user.id}`);
	return { userId: res.body.user.id, accessToken: res.body.accessToken, refreshToken: res.body.refreshToken };
}

async function login(email: string, password: string, headers: Record<string, string> = {}) {
	return http.post("/api/auth/login", { email, password }, { headers });
}

const uniqueEmail = (name: string) => `${name}-${randomUUID().slice(0, 8)}@example.com`;
const settings = { issuer: "lootopia", audience: "lootopia-api", accessTtlSeconds: 900 };

interface Backends {
	env: Record<string, string>;
	close(): Promise<void>;
}

/** The same suite on every set of backends the machine offers: embedded, and real servers. */
function identitySuite(title: string, openBackends: () => Promise<Backends>) {
	describe(title, () => {
		let backends: Backends;
		beforeAll(async () => {
			backends = await openBackends();
			// Every request here comes from one address: the per-address limits would cut the suite short.
			node = await startTestNode({ ...backends.env, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, RATE_LIMIT_PER_MINUTE: "0", REGISTRATIONS_PER_HOUR: "0" });
			http = httpClient(node.baseUrl);
			ring = await readKeyRing(path.join(node.dataDir, DEV_KEYS_FILE));
		});

		afterAll(async () => {
			await node?.stop();
			await backends?.close();
		});

		describe("registration", () => {
			it("creates the account and its profile, signed in, with the email unique whatever its case", async () => {
				const email = uniqueEmail("Alice");
				const session = await register(email, "Alice");
				const me = await http.get("/api/users/me", { token: session.accessToken });
				expect(me.status).toBe(200);
				expect(me.body).toMatchObject({ id: session.userId, displayName: "Alice", locale: "en", avatarUrl: null });
				expectError(await http.post("/api/auth/register", { email: email.toUpperCase(), password: PASSWORD, displayName: "Copy" }), 409, "EMAIL_TAKEN");
				expect((await login(email.toLowerCase(), PASSWORD)).status).toBe(200);
			});

			it("lets exactly one of 100 concurrent registrations of one address through", async () => {
				const email = uniqueEmail("race");
				const attempts = await Promise.all(
					Array.from({ length: 100 }, (_, i) => http.post("/api/auth/register", { email: i % 2 ? email.toUpperCase() : email, password: PASSWORD, displayName: `Racer ${i}` })),
				);
				const statuses = attempts.map(res => res.status);
				expect(statuses.filter(status => status === 201)).toHaveLength(1);
				expect(statuses.filter(status => status === 409)).toHaveLength(99);
				expect((await login(email, PASSWORD)).status).toBe(200);
			});

			it("refuses weak passwords with the reasons, and creates nothing", async () => {
				const email = uniqueEmail("weak");
				const res = await http.post("/api/auth/register", { email, password: "password123", displayName: "Weak" });
				expectError(res, 422, "WEAK_PASSWORD");
				expect(res.body.error.details.problems).toContain("TOO_COMMON");
				expectError(await login(email, "password123"), 401, "INVALID_CREDENTIALS");
			});
		});

		describe("login", () => {
			it("answers an unknown email exactly like a wrong password", async () => {
				const email = uniqueEmail("known");
				await register(email);
				const wrongPassword = await login(email, "not the password at all");
				const unknownEmail = await login(uniqueEmail("nobody"), "not the password at all");
				expectError(wrongPassword, 401, "INVALID_CREDENTIALS");
				expect(unknownEmail.status).toBe(wrongPassword.status);
				expect(unknownEmail.body).toEqual(wrongPassword.body);
			});

			it("throttles an account after repeated failures however X-Forwarded-For is forged, and says when to retry", async () => {
				const email = uniqueEmail("target");
				await register(email);
				for (let i = 0; i < 5; i++) expectError(await login(email, `guess number ${i}`, { "X-Forwarded-For": `203.0.113.${i + 1}` }), 401, "INVALID_CREDENTIALS");
				// The sixth failure starts the delay; from then on even the right password waits.
				await login(email, "guess number 6", { "X-Forwarded-For": "198.51.100.77" });
				const locked = await login(email, PASSWORD, { "X-Forwarded-For": "192.0.2.200" });
				expectError(locked, 429, "LOGIN_THROTTLED");
				expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
				// An unknown email gets the same treatment, so the throttle reveals nothing either.
				const stranger = uniqueEmail("stranger");
				for (let i = 0; i < 6; i++) await login(stranger, `guess number ${i}`, { "X-Forwarded-For": `203.0.113.${i + 50}` });
				expectError(await login(stranger, PASSWORD), 429, "LOGIN_THROTTLED");
			});
		});

		describe("sessions", () => {
			it("rotates refresh tokens: the new pair works, the old refresh token does not", async () => {
				const session = await register(uniqueEmail("rotate"));
				const refreshed = await http.post("/api/auth/refresh", { refreshToken: session.refreshToken });
				expect(refreshed.status).toBe(200);
				expect(refreshed.body.refreshToken).not.toBe(session.refreshToken);
				expect((await http.get("/api/users/me", { token: refreshed.body.accessToken })).status).toBe(200);
				expect((await http.post("/api/auth/refresh", { refreshToken: refreshed.body.refreshToken })).status).toBe(200);
			});

			it("revokes the whole family when a used refresh token comes back", async () => {
				const email = uniqueEmail("reuse");
				const session = await register(email);
				const legit = await http.post("/api/auth/refresh", { refreshToken: session.refreshToken });
				expect(legit.status).toBe(200);
				// Presented again at once (a second tab, a retried request): the grace window gives it one sibling.
				const secondTab = await http.post("/api/auth/refresh", { refreshToken: session.refreshToken });
				expect(secondTab.status).toBe(200);
				expect(secondTab.body.refreshToken).not.toBe(legit.body.refreshToken);
				// Someone replays the copied, already-used token once more: that is theft, and the session goes.
				expectError(await http.post("/api/auth/refresh", { refreshToken: session.refreshToken }), 401, "INVALID_REFRESH_TOKEN");
				expectError(await http.post("/api/auth/refresh", { refreshToken: secondTab.body.refreshToken }), 401, "INVALID_REFRESH_TOKEN");
				// The legitimate holder's newer tokens died with the family.
				expectError(await http.post("/api/auth/refresh", { refreshToken: legit.body.refreshToken }), 401, "INVALID_REFRESH_TOKEN");
				const afterRevocation = await http.get("/api/users/me", { token: legit.body.accessToken });
				expectError(afterRevocation, 401, "INVALID_TOKEN");
				// Other sessions of the same account are untouched.
				expect((await login(email, PASSWORD)).status).toBe(200);
			});

			it("ends the session at logout: refresh token and access token both stop working", async () => {
				const session = await register(uniqueEmail("logout"));
				const res = await http.post("/api/auth/logout", {}, { token: session.accessToken });
				expect(res.status).toBe(204);
				expectError(await http.post("/api/auth/refresh", { refreshToken: session.refreshToken }), 401, "INVALID_REFRESH_TOKEN");
				expectError(await http.get("/api/users/me", { token: session.accessToken }), 401, "INVALID_TOKEN");
			});
		});

		describe("access tokens", () => {
			let session: Session;
			beforeAll(async () => {
				session = await register(uniqueEmail("tokens"));
			});

			const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

			it("accepts the real token", async () => {
				expect((await http.get("/api/users/me", { token: session.accessToken })).status).toBe(200);
			});

			it("refuses a tampered token (payload changed, signature kept)", async () => {
				const [header, payload, signature] = session.accessToken.split(".");
				const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
				const forged = [header, base64url({ ...claims, roles: ["player", "admin"] }), signature].join(".");
				expectError(await http.get("/api/users/me", { token: forged }), 401, "INVALID_TOKEN");
				expectError(await http.get("/api/admin/partners", { token: forged }), 401, "INVALID_TOKEN");
			});

			it("refuses an expired token with its own code, so clients know to refresh", async () => {
				const expired = await signAccessToken(ring, { sub: session.userId, roles: ["player"], partners: {}, sid: randomUUID() }, settings, new Date(Date.now() - 3600_000));
				expectError(await http.get("/api/users/me", { token: expired }), 401, "TOKEN_EXPIRED");
			});

			it("refuses alg none", async () => {
				const claims = JSON.parse(Buffer.from(session.accessToken.split(".")[1], "base64url").toString());
				const unsigned = `${base64url({ alg: "none", typ: "at+jwt", kid: ring.current.kid })}.${base64url({ ...claims, roles: ["admin"] })}.`;
				expectError(await http.get("/api/users/me", { token: unsigned }), 401, "INVALID_TOKEN");
			});

			it("refuses a token signed by a key that is not ours, even with our key id", async () => {
				const foreignKey = await generateSigningKey();
				const foreign: KeyRing = { current: { ...foreignKey, kid: ring.current.kid, privateJwk: { ...foreignKey.privateJwk, kid: ring.current.kid } }, previous: [] };
				const token = await signAccessToken(foreign, { sub: session.userId, roles: ["player", "admin"], partners: {}, sid: randomUUID() }, settings);
				expectError(await http.get("/api/users/me", { token }), 401, "INVALID_TOKEN");
				const otherKid = await signAccessToken({ current: foreignKey, previous: [] }, { sub: session.userId, roles: ["admin"], partners: {}, sid: randomUUID() }, settings);
				expectError(await http.get("/api/users/me", { token: otherKid }), 401, "INVALID_TOKEN");
			});

			it("refuses a malformed Authorization header instead of treating the request as anonymous", async () => {
				expectError(await http.get("/api/users/me", { headers: { Authorization: `Token ${session.accessToken}` } }), 401, "INVALID_TOKEN");
				expectError(await http.get("/api/users/me"), 401, "UNAUTHENTICATED");
			});
		});

		describe("authorization over HTTP and over the broker", () => {
			let player: Session;
			let admin: Session;
			let partnerId: string;

			beforeAll(async () => {
				player = await register(uniqueEmail("player"));
				// Created once the node has started, from ADMIN_EMAIL and ADMIN_PASSWORD.
				const res = await eventually(async () => {
					const attempt = await login(ADMIN.email, ADMIN.password);
					if (attempt.status !== 200) throw new Error(`admin not there yet: ${attempt.status}`);
					return attempt;
				});
				expect(res.body.user.roles).toContain("admin");
				admin = { userId: res.body.user.id, accessToken: res.body.accessToken, refreshToken: res.body.refreshToken };
				const created = await http.post("/api/partners", { name: "Player's Café" }, { token: player.accessToken });
				expect(created.status).toBe(201);
				partnerId = created.body.id;
			});

			it("keeps players out of admin endpoints, and anonymous callers out of user ones", async () => {
				expectError(await http.post(`/api/partners/${partnerId}/verify`, {}, { token: player.accessToken }), 403, "FORBIDDEN");
				expectError(await http.get("/api/admin/partners", { token: player.accessToken }), 403, "FORBIDDEN");
				expectError(await http.post(`/api/admin/users/${player.userId}/roles`, { role: "admin" }, { token: player.accessToken }), 403, "FORBIDDEN");
				expectError(await http.post(`/api/partners/${partnerId}/verify`, {}), 401, "UNAUTHENTICATED");
				expectError(await http.post("/api/partners", { name: "Nobody's" }), 401, "UNAUTHENTICATED");
				const partner = await http.get(`/api/partners/${partnerId}`, { token: player.accessToken });
				expect(partner.body.status).toBe("pending");
				const me = await http.get("/api/auth/me", { token: player.accessToken });
				expect(me.body.roles).toEqual(["player"]);
			});

			it("checks again in the service: a broker call with hand-written meta gets no more power", async () => {
				const forgedMeta = { user: { id: admin.userId, roles: ["admin"] }, caller: { kind: "operator", operator: "mallory" }, roles: ["admin"] };
				expect(await rejectionOf(node.broker.call("partners.verify", { id: partnerId }, { meta: forgedMeta }))).toMatchObject({ code: 401, type: "UNAUTHENTICATED" });
				expect(await rejectionOf(node.broker.call("partners.verify", { id: partnerId }, { meta: { accessToken: player.accessToken } }))).toMatchObject({ code: 403, type: "FORBIDDEN" });
				// Service-only actions refuse users too: a player cannot mint a profile or read memberships.
				expect(await rejectionOf(node.broker.call("users.createProfile", { userId: randomUUID(), displayName: "Ghost" }, { meta: { accessToken: player.accessToken } }))).toMatchObject({ code: 403 });
				expect(await rejectionOf(node.broker.call("partners.membershipsOf", { userId: admin.userId }, { meta: { accessToken: player.accessToken } }))).toMatchObject({ code: 403 });
				expect(
					await rejectionOf(node.broker.call("auth.ensureAdmin", { email: "mallory@example.com", password: "mallory's own passphrase" }, { meta: { accessToken: player.accessToken } })),
				).toMatchObject({ code: 403 });
				// Nothing changed.
				expect((await http.get(`/api/partners/${partnerId}`, { token: admin.accessToken })).body.status).toBe("pending");
			});

			it("lets the admin from ADMIN_EMAIL verify partners and grant roles", async () => {
				const verified = await http.post(`/api/partners/${partnerId}/verify`, {}, { token: admin.accessToken });
				expect(verified.status).toBe(200);
				expect(verified.body.status).toBe("verified");
				const granted = await http.post(`/api/admin/users/${player.userId}/roles`, { role: "admin" }, { token: admin.accessToken });
				expect(granted.body.roles).toEqual(["player", "admin"]);
				// Roles travel in access tokens: the next refresh carries it, and it can be taken back.
				const refreshed = await http.post("/api/auth/refresh", { refreshToken: player.refreshToken });
				expect(refreshed.body.user.roles).toContain("admin");
				player = { ...player, accessToken: refreshed.body.accessToken, refreshToken: refreshed.body.refreshToken };
				const revoked = await http.delete(`/api/admin/users/${player.userId}/roles/admin`, { token: admin.accessToken });
				expect(revoked.body.roles).toEqual(["player"]);
			});
		});

		describe("the REPL's admin-grant", () => {
			it("promotes an existing account with an operator token made from the key file, and audits the operator", async () => {
				const email = uniqueEmail("promoted");
				const session = await register(email);
				expect(await grantAdmin(node.broker, email)).toMatch(/is an admin .*already existed/);
				const refreshed = await http.post("/api/auth/refresh", { refreshToken: session.refreshToken });
				expect(refreshed.body.user.roles).toEqual(["player", "admin"]);
				const entries = await eventually(async () => {
					const res = await http.get(`/api/admin/audit?subject=${session.userId}&action=auth.role.granted`, { token: refreshed.body.accessToken });
					expect(res.body.entries).toHaveLength(1);
					return res.body.entries;
				});
				expect(entries[0].actor).toMatchObject({ type: "operator" });
			});

			it("creates the account when given a password, and refuses a weak one", async () => {
				const email = uniqueEmail("created-admin");
				expect(await grantAdmin(node.broker, email, PASSWORD)).toMatch(/created now/);
				expect((await login(email, PASSWORD)).body.user.roles).toContain("admin");
				expect(await rejectionOf(grantAdmin(node.broker, uniqueEmail("weak-admin"), "password1"))).toMatchObject({ type: "WEAK_PASSWORD" });
			});
		});

		describe("partners", () => {
			let owner: Session;
			let editor: Session;
			let rival: Session;
			let museum: string;
			let rivalShop: string;

			beforeAll(async () => {
				[owner, editor, rival] = await Promise.all([register(uniqueEmail("owner"), "Owner"), register(uniqueEmail("editor"), "Editor"), register(uniqueEmail("rival"), "Rival")]);
				museum = (await http.post("/api/partners", { name: "City Museum", description: "Secret plans", contactEmail: "curator@museum.example" }, { token: owner.accessToken })).body.id;
				rivalShop = (await http.post("/api/partners", { name: "Rival Shop" }, { token: rival.accessToken })).body.id;
				const added = await http.post(`/api/partners/${museum}/members`, { userId: editor.userId, role: "editor" }, { token: owner.accessToken });
				expect(added.status).toBe(200);
				expect(added.body.members).toEqual(expect.arrayContaining([expect.objectContaining({ userId: editor.userId, role: "editor" })]));
			});

			it("creates partners pending, with the creator as owner, and puts memberships in the next tokens", async () => {
				const view = await http.get(`/api/partners/${museum}`, { token: owner.accessToken });
				expect(view.body).toMatchObject({ status: "pending", description: "Secret plans", members: expect.arrayContaining([expect.objectContaining({ userId: owner.userId, role: "owner" })]) });
				const refreshed = await http.post("/api/auth/refresh", { refreshToken: editor.refreshToken });
				expect(refreshed.body.user.partners).toEqual({ [museum]: "editor" });
				editor = { ...editor, accessToken: refreshed.body.accessToken, refreshToken: refreshed.body.refreshToken };
				expect((await http.get("/api/partners", { token: editor.accessToken })).body.map((p: { id: string }) => p.id)).toEqual([museum]);
			});

			it("creates one partner for a retried request with the same Idempotency-Key, and answers the retry as the first time", async () => {
				const key = randomUUID();
				const body = { name: "Retried Ltd", description: "sent twice" };
				const first = await http.post("/api/partners", body, { token: owner.accessToken, headers: { "Idempotency-Key": key } });
				expect(first.status).toBe(201);
				const retry = await http.post("/api/partners", body, { token: owner.accessToken, headers: { "Idempotency-Key": key } });
				expect({ status: retry.status, location: retry.headers.get("location"), body: retry.body }).toEqual({ status: 201, location: `/api/partners/${first.body.id}`, body: first.body });
				const mine = (await http.get("/api/partners", { token: owner.accessToken })).body as Array<{ name: string }>;
				expect(mine.filter(p => p.name === "Retried Ltd")).toHaveLength(1);
				// The same key for something else is a client bug, said so; a malformed key is refused.
				expectError(await http.post("/api/partners", { name: "Other Ltd" }, { token: owner.accessToken, headers: { "Idempotency-Key": key } }), 422, "IDEMPOTENCY_KEY_REUSED");
				expectError(await http.post("/api/partners", body, { token: owner.accessToken, headers: { "Idempotency-Key": "has spaces in it" } }), 400, "INVALID_IDEMPOTENCY_KEY");
				expectError(await http.post("/api/partners", body, { token: owner.accessToken, headers: { "Idempotency-Key": "x".repeat(256) } }), 400, "INVALID_IDEMPOTENCY_KEY");
				// Keys are per caller: another user's identical key creates their own partner.
				const theirs = await http.post("/api/partners", body, { token: rival.accessToken, headers: { "Idempotency-Key": key } });
				expect(theirs.status).toBe(201);
				expect(theirs.body.id).not.toBe(first.body.id);
				// Without a key, a second request is a second partner, as before.
				expect((await http.post("/api/partners", body, { token: owner.accessToken })).body.id).not.toBe(first.body.id);
			});

			it("shows another partner's members nothing private, and lets them change nothing", async () => {
				// Pending: to outsiders it does not exist.
				expectError(await http.get(`/api/partners/${museum}`, { token: rival.accessToken }), 404, "NOT_FOUND");
				expectError(await http.patch(`/api/partners/${museum}`, { name: "Hijacked" }, { token: rival.accessToken }), 404, "NOT_FOUND");
				expectError(await http.post(`/api/partners/${museum}/members`, { userId: rival.userId, role: "owner" }, { token: rival.accessToken }), 404, "NOT_FOUND");
				expectError(await http.delete(`/api/partners/${museum}/members/${owner.userId}`, { token: rival.accessToken }), 404, "NOT_FOUND");
				// Verified: the public view only.
				const adminLogin = await login(ADMIN.email, ADMIN.password);
				await http.post(`/api/partners/${museum}/verify`, {}, { token: adminLogin.body.accessToken });
				const outside = await http.get(`/api/partners/${museum}`, { token: rival.accessToken });
				expect(outside.status).toBe(200);
				expect(outside.body).toEqual({ id: museum, name: "City Museum", website: null, status: "verified" });
				// The other direction too, over the broker.
				expect(await rejectionOf(node.broker.call("partners.update", { id: rivalShop, name: "Taken" }, { meta: { accessToken: owner.accessToken } }))).toMatchObject({ code: 404 });
				const untouched = await http.get(`/api/partners/${museum}`, { token: owner.accessToken });
				expect(untouched.body).toMatchObject({ name: "City Museum", members: expect.not.arrayContaining([expect.objectContaining({ userId: rival.userId })]) });
				expect(untouched.body.members).toHaveLength(2);
			});

			it("lets only owners manage members, and never removes the last owner", async () => {
				expectError(await http.post(`/api/partners/${museum}/members`, { userId: rival.userId, role: "editor" }, { token: editor.accessToken }), 403, "FORBIDDEN");
				expectError(await http.delete(`/api/partners/${museum}/members/${owner.userId}`, { token: owner.accessToken }), 409, "LAST_OWNER");
				expectError(await http.put(`/api/partners/${museum}/members/${owner.userId}`, { role: "editor" }, { token: owner.accessToken }), 409, "LAST_OWNER");
				expectError(await http.post(`/api/partners/${museum}/members`, { userId: randomUUID(), role: "editor" }, { token: owner.accessToken }), 404, "NOT_FOUND");
				// An editor may leave on their own.
				expect((await http.delete(`/api/partners/${museum}/members/${editor.userId}`, { token: editor.accessToken })).status).toBe(204);
			});
		});

		describe("hostile input", () => {
			let session: Session;
			beforeAll(async () => {
				session = await register(uniqueEmail("input"), "Input");
			});

			it("answers injection-shaped and wrongly typed input with 422 and changes nothing", async () => {
				expectError(await http.post("/api/auth/register", { email: "x@example.com' OR '1'='1", password: PASSWORD, displayName: "Inj" }), 422, "VALIDATION_FAILED");
				expectError(await http.post("/api/auth/login", { email: { $gt: "" }, password: PASSWORD }), 422, "VALIDATION_FAILED");
				expectError(await http.get("/api/partners/1%20OR%201=1", { token: session.accessToken }), 422, "VALIDATION_FAILED");
				expectError(await http.patch("/api/users/me", { avatarUrl: "javascript:alert(1)" }, { token: session.accessToken }), 422, "VALIDATION_FAILED");
				expectError(await http.patch("/api/users/me", { locale: "en'; drop table users.profiles; --" }, { token: session.accessToken }), 422, "VALIDATION_FAILED");
				expectError(await http.patch("/api/users/me", { displayName: "New", roles: ["admin"] }, { token: session.accessToken }), 422, "VALIDATION_FAILED");
				const me = await http.get("/api/users/me", { token: session.accessToken });
				expect(me.body).toMatchObject({ displayName: "Input", locale: "en", avatarUrl: null });
				expect((await http.get("/api/auth/me", { token: session.accessToken })).body.roles).toEqual(["player"]);
			});

			it("stores SQL-looking text as text", async () => {
				const name = "Robert'); DROP TABLE profiles;--";
				const res = await http.patch("/api/users/me", { displayName: name }, { token: session.accessToken });
				expect(res.status).toBe(200);
				expect((await http.get(`/api/users/${session.userId}`)).body.displayName).toBe(name);
			});

			it("refuses oversized input with 4xx and changes nothing", async () => {
				expectError(await http.patch("/api/users/me", { displayName: "x".repeat(51) }, { token: session.accessToken }), 422, "VALIDATION_FAILED");
				expectError(await http.post("/api/auth/login", { email: "a@example.com", password: "p".repeat(257) }), 422, "VALIDATION_FAILED");
				expectError(await http.post("/api/partners", { name: "Big", description: "d".repeat(300_000) }, { token: session.accessToken }), 413, "PAYLOAD_TOO_LARGE");
				expect((await http.get("/api/partners", { token: session.accessToken })).body).toEqual([]);
			});
		});

		describe("profiles and account deletion", () => {
			it("updates the profile and keeps the account view's name in step", async () => {
				const session = await register(uniqueEmail("profile"), "Before");
				const res = await http.patch("/api/users/me", { displayName: "After", avatarUrl: "https://cdn.example.com/a.png", locale: "fr-FR" }, { token: session.accessToken });
				expect(res.body).toMatchObject({ displayName: "After", avatarUrl: "https://cdn.example.com/a.png", locale: "fr-FR" });
				expect((await http.get(`/api/users/${session.userId}`)).body).toEqual({ id: session.userId, displayName: "After", avatarUrl: "https://cdn.example.com/a.png" });
				await eventually(async () => expect((await http.get("/api/auth/me", { token: session.accessToken })).body.displayName).toBe("After"));
				expect((await http.patch("/api/users/me", { avatarUrl: null }, { token: session.accessToken })).body.avatarUrl).toBeNull();
			});

			it("deletes an account only with its password, erases the person and lets the email be used again", async () => {
				const email = uniqueEmail("leaver");
				const session = await register(email, "Leaver");
				// An editor of someone else's partner (an only owner would first have to hand over: 409 LAST_OWNER).
				const owner = await register(uniqueEmail("kiosk-owner"), "Kiosk Owner");
				const partner = (await http.post("/api/partners", { name: "Leaver's Kiosk" }, { token: owner.accessToken })).body.id;
				expect((await http.post(`/api/partners/${partner}/members`, { userId: session.userId, role: "editor" }, { token: owner.accessToken })).status).toBeLessThan(300);
				expectError(await http.request("DELETE", "/api/users/me", { token: session.accessToken, body: { password: "not my password" } }), 401, "INVALID_CREDENTIALS");
				expect((await http.request("DELETE", "/api/users/me", { token: session.accessToken, body: { password: PASSWORD } })).status).toBe(204);
				expectError(await http.get("/api/users/me", { token: session.accessToken }), 401, "INVALID_TOKEN");
				expectError(await http.post("/api/auth/refresh", { refreshToken: session.refreshToken }), 401, "INVALID_REFRESH_TOKEN");
				expectError(await login(email, PASSWORD), 401, "INVALID_CREDENTIALS");
				expectError(await http.get(`/api/users/${session.userId}`), 404, "NOT_FOUND");
				// Other services hear of it through the durable channel: the membership goes.
				const adminToken = (await login(ADMIN.email, ADMIN.password)).body.accessToken;
				await eventually(async () => expect((await http.get(`/api/partners/${partner}`, { token: adminToken })).body.members.map((m: { userId: string }) => m.userId)).toEqual([owner.userId]));
				expect((await http.post("/api/auth/register", { email, password: PASSWORD, displayName: "Newcomer" })).status).toBe(201);
			});
		});

		describe("audit trail", () => {
			it("records logins, failures, refresh reuse and role changes, with no email or secret in it, on a chain that verifies", async () => {
				const email = uniqueEmail("audited");
				const session = await register(email);
				await login(email, "definitely not it");
				const first = await http.post("/api/auth/refresh", { refreshToken: session.refreshToken });
				// The second use falls in the grace window; the third is reuse.
				await http.post("/api/auth/refresh", { refreshToken: session.refreshToken });
				await http.post("/api/auth/refresh", { refreshToken: session.refreshToken });
				const adminToken = (await login(ADMIN.email, ADMIN.password)).body.accessToken;
				await http.post(`/api/admin/users/${session.userId}/roles`, { role: "admin" }, { token: adminToken });

				const entries = await eventually(async () => {
					const res = await http.get(`/api/admin/audit?subject=${session.userId}&limit=50`, { token: adminToken });
					expect(res.status).toBe(200);
					const actions = res.body.entries.map((entry: { action: string }) => entry.action);
					expect(actions).toEqual(expect.arrayContaining(["auth.registered", "auth.login.failed", "auth.refresh.reused", "auth.role.granted"]));
					return res.body.entries;
				});
				const text = JSON.stringify(entries);
				expect(text).not.toContain(email);
				expect(text).not.toContain(session.refreshToken);
				expect(text).not.toContain(first.body.accessToken);
				expect(entries.find((entry: { action: string }) => entry.action === "auth.role.granted")).toMatchObject({ actor: { type: "user", id: expect.any(String) }, data: { role: "admin" } });

				const verified = await http.get("/api/admin/audit/verify", { token: adminToken });
				expect(verified.body).toMatchObject({ ok: true });
				expect(verified.body.checked).toBeGreaterThanOrEqual(entries.length);
				expectError(await http.get("/api/admin/audit", { token: session.accessToken }), 401, "INVALID_TOKEN");
			});
		});

		describe("documentation", () => {
			it("documents every identity path of the client contract, with bearer security where a token is needed", async () => {
				const doc = (await http.get("/api/openapi.json")).body;
				const contract: Array<[string, string, boolean]> = [
					["post", "/api/auth/register", false],
					["post", "/api/auth/login", false],
					["post", "/api/auth/refresh", false],
					["post", "/api/auth/logout", true],
					["get", "/api/users/me", true],
					["patch", "/api/users/me", true],
					["post", "/api/partners", true],
					["post", "/api/partners/{id}/verify", true],
					["get", "/api/admin/audit", true],
					["get", "/api/admin/audit/verify", true],
				];
				for (const [method, path, secured] of contract) {
					const operation = doc.paths[path]?.[method];
					expect({ method, path, documented: Boolean(operation) }).toEqual({ method, path, documented: true });
					expect({ method, path, secured: Boolean(operation.security?.length) }).toEqual({ method, path, secured });
				}
				expect(doc.paths["/api/auth/register"].post.responses["201"]).toBeDefined();
			});
		});
	});
}

identitySuite("identity and access, embedded (PGlite, memory store, SQL channels)", async () => ({ env: {}, close: async () => undefined }));

describeWithBackend("postgres", "PostgreSQL", pg => {
	describeWithBackend("redis", "Redis", redis => {
		identitySuite("identity and access on PostgreSQL, Redis (cache, store) and Redis Streams channels", async () => {
			const database = await scratchDatabase(pg.url);
			return {
				env: { DATABASE_URL: database.url, REDIS_URL: redis.url, CHANNELS_URL: redis.url, NAMESPACE: database.name },
				close: database.drop,
			};
		});
	});
});

describeWithBackend("kafka", "Kafka", kafka => {
	identitySuite("identity and access with Kafka channels (embedded database and store)", async () => {
		// Every topic starts with the namespace, so cleanup removes exactly this run's.
		const namespace = `lootopia-it-${randomUUID().replace(/-/g, "").slice(0, 12)}`;
		return {
			env: { CHANNELS_URL: kafka.url, NAMESPACE: namespace },
			close: () => deleteKafkaTopics(kafka.url, namespace),
		};
	});
});
