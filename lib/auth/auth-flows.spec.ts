/**
 * The auth flows without a broker: PGlite for the store, the in-memory key-value store for the
 * throttle, and recording stubs for the ports, so each step's effect on the rest of the platform
 * (profile, audit, revocation) is visible.
 */
import { MemoryStore } from "../store/memory-store";
import { openTestPGlite, useMigratedSchema } from "../../test/support/sql";
import { rejectionOf } from "../../test/support/async";
import { AccountStore, AUTH_MIGRATIONS } from "./account-store";
import { AuthFlows, type AuthPorts } from "./auth-flows";
import { LoginThrottle, RegistrationLimit } from "./login-throttle";
import { generateSigningKey, verifyAccessToken, type KeyRing } from "./tokens";

const settings = { token: { issuer: "lootopia", audience: "lootopia-api", accessTtlSeconds: 900 }, refreshTtlSeconds: 3600 };
const PASSWORD = "a perfectly fine passphrase";

const db = useMigratedSchema(openTestPGlite, "auth", AUTH_MIGRATIONS);
const schema = db.schema;
let ring: KeyRing;

beforeAll(async () => {
	ring = { current: await generateSigningKey(), previous: [] };
});

function setup(overrides: Partial<AuthPorts> = {}, registrations?: RegistrationLimit) {
	const audit: Array<{ action: string }> = [];
	const revoked: string[] = [];
	const profiles: string[] = [];
	const closed: string[] = [];
	const ports: AuthPorts = {
		createProfile: async userId => void profiles.push(userId),
		membershipsOf: async () => ({ "partner-1": "editor" }),
		audit: async fact => void audit.push(fact),
		sessionsRevoked: async ids => void revoked.push(...ids),
		accountClosed: async userId => void closed.push(userId),
		...overrides,
	};
	const store = new AccountStore(db.client, schema);
	const flows = new AuthFlows(store, new LoginThrottle(new MemoryStore()), () => ring, settings, ports, registrations);
	return { flows, store, audit, revoked, profiles, closed };
}

let counter = 0;
const email = () => `user${++counter}-${schema}@example.com`;

it("registers: account, profile, session, and a token carrying the user", async () => {
	const { flows, profiles, audit } = setup();
	const result = await flows.register({ email: ` ${email()} `, password: PASSWORD, displayName: " Ana " }, { clientIp: "203.0.113.9" });
	expect(profiles).toEqual([result.user.id]);
	expect(result.user).toMatchObject({ displayName: "Ana", roles: ["player"], partners: {} });
	expect(result.user.email).not.toMatch(/^\s|\s$/);
	const claims = await verifyAccessToken(ring, result.accessToken, settings.token);
	expect(claims).toMatchObject({ sub: result.user.id, roles: ["player"] });
	expect(audit.map(f => f.action)).toEqual(["auth.registered"]);
});

it("undoes the account when the profile cannot be created, so registering again works", async () => {
	const address = email();
	const failing = setup({ createProfile: async () => Promise.reject(new Error("users service down")) });
	expect(await rejectionOf(failing.flows.register({ email: address, password: PASSWORD, displayName: "Bo" }, {}))).toMatchObject({ message: "users service down" });
	expect(await failing.store.findByEmailKey(address)).toBeUndefined();
	const { flows } = setup();
	expect((await flows.register({ email: address, password: PASSWORD, displayName: "Bo" }, {})).user.displayName).toBe("Bo");
});

it("logs in with memberships in the token, and audits failures without the email", async () => {
	const address = email();
	const { flows, audit } = setup();
	await flows.register({ email: address, password: PASSWORD, displayName: "Cy" }, {});
	const result = await flows.login({ email: address.toUpperCase(), password: PASSWORD }, { clientIp: "203.0.113.1" });
	expect(result.user.partners).toEqual({ "partner-1": "editor" });
	expect(await rejectionOf(flows.login({ email: address, password: "wrong password here" }, { clientIp: "203.0.113.1" }))).toMatchObject({ type: "INVALID_CREDENTIALS" });
	const failed = audit.find(f => f.action === "auth.login.failed");
	expect(failed).toMatchObject({ data: { knownAccount: true } });
	expect(JSON.stringify(audit)).not.toContain(address);
});

it("throttles with a retry delay after repeated failures, whether or not the account exists", async () => {
	const { flows, audit } = setup();
	for (const address of [email(), "nobody-at-all@example.com"]) {
		for (let i = 0; i < 6; i++) await rejectionOf(flows.login({ email: address, password: `guess ${i} guess` }, { clientIp: `198.51.100.${i}` }));
		const err = await rejectionOf(flows.login({ email: address, password: PASSWORD }, { clientIp: "192.0.2.1" }));
		expect(err).toMatchObject({ type: "LOGIN_THROTTLED", data: { retryAfterSeconds: expect.any(Number) } });
	}
	expect(audit.filter(f => f.action === "auth.login.throttled")).toHaveLength(2);
});

it("revokes the family and says so when a used refresh token comes back", async () => {
	const { flows, audit, revoked } = setup();
	const first = await flows.register({ email: email(), password: PASSWORD, displayName: "Di" }, {});
	const second = await flows.refresh(first.refreshToken, {});
	// At once again: the grace window (a second tab) gives one sibling, on record; a third use is theft.
	await flows.refresh(first.refreshToken, { clientIp: "198.51.100.4" });
	expect(audit.filter(f => f.action === "auth.refresh.grace_reuse")).toEqual([expect.objectContaining({ actor: { type: "anonymous", ip: "198.51.100.4" } })]);
	expect(await rejectionOf(flows.refresh(first.refreshToken, { clientIp: "203.0.113.66" }))).toMatchObject({ type: "INVALID_REFRESH_TOKEN" });
	expect(await rejectionOf(flows.refresh(second.refreshToken, {}))).toMatchObject({ type: "INVALID_REFRESH_TOKEN" });
	const claims = await verifyAccessToken(ring, second.accessToken, settings.token);
	expect(revoked).toEqual([claims.sid]);
	expect(audit.filter(f => f.action === "auth.refresh.reused")).toHaveLength(1);
});

it("closes an account only with its password, then revokes and announces", async () => {
	const { flows, revoked, closed } = setup();
	const result = await flows.register({ email: email(), password: PASSWORD, displayName: "Ed" }, {});
	expect(await rejectionOf(flows.closeAccount(result.user.id, "not the password", {}))).toMatchObject({ type: "INVALID_CREDENTIALS" });
	expect(closed).toEqual([]);
	await flows.closeAccount(result.user.id, PASSWORD, {});
	expect(revoked).toHaveLength(1);
	expect(closed).toEqual([result.user.id]);
	expect(await rejectionOf(flows.me(result.user.id))).toMatchObject({ type: "NOT_FOUND" });
});

it("ends the sessions of an account whose role is taken away", async () => {
	const { flows, revoked } = setup();
	const result = await flows.register({ email: email(), password: PASSWORD, displayName: "Ko" }, {});
	await flows.setRole(result.user.id, "admin", true, { type: "operator", id: "test" });
	expect(revoked).toEqual([]);
	await flows.setRole(result.user.id, "admin", false, { type: "operator", id: "test" });
	expect(revoked).toHaveLength(1);
	expect(await rejectionOf(flows.refresh(result.refreshToken, {}))).toMatchObject({ type: "INVALID_REFRESH_TOKEN" });
});

it("creates the configured admin once, and promotes an existing account without touching its password", async () => {
	const { flows } = setup();
	const address = email();
	const created = await flows.ensureAdmin(address, PASSWORD, { type: "operator", id: "test" });
	expect(created.created).toBe(true);
	expect(await flows.ensureAdmin(address, PASSWORD, { type: "operator", id: "test" })).toEqual({ userId: created.userId, created: false });
	// Someone else may have registered the configured email: a different password is not promoted.
	const squatter = await flows.register({ email: email(), password: "the squatter's passphrase", displayName: "Sq" }, {});
	expect(await rejectionOf(flows.ensureAdmin(squatter.user.email, PASSWORD, { type: "operator", id: "ADMIN_EMAIL" }))).toMatchObject({ type: "CONFLICT" });
	expect((await flows.me(squatter.user.id)).roles).toEqual(["player"]);
	expect((await flows.login({ email: address, password: PASSWORD }, {})).user.roles).toEqual(["player", "admin"]);
	const player = await flows.register({ email: email(), password: PASSWORD, displayName: "Fi" }, {});
	await flows.ensureAdmin(player.user.email, undefined, { type: "operator", id: "test" });
	expect((await flows.me(player.user.id)).roles).toEqual(["player", "admin"]);
});

it("limits registrations per address per hour, before any work is done", async () => {
	const { flows, profiles } = setup({}, new RegistrationLimit(new MemoryStore(), 2));
	await flows.register({ email: email(), password: PASSWORD, displayName: "Gi" }, { clientIp: "203.0.113.5" });
	// A refused attempt counts too: probing for taken emails is what the limit is for.
	expect(await rejectionOf(flows.register({ email: "nope", password: "short", displayName: "x" }, { clientIp: "203.0.113.5" }))).toMatchObject({ type: "WEAK_PASSWORD" });
	const limited = await rejectionOf(flows.register({ email: email(), password: PASSWORD, displayName: "Ha" }, { clientIp: "203.0.113.5" }));
	expect(limited).toMatchObject({ type: "RATE_LIMITED", data: { retryAfterSeconds: expect.any(Number) } });
	expect(profiles).toHaveLength(1);
	await flows.register({ email: email(), password: PASSWORD, displayName: "Io" }, { clientIp: "198.51.100.5" });
	expect(profiles).toHaveLength(2);
});

it("announces a closure that could not be sent at the time on the next pass, and only once", async () => {
	let channelUp = false;
	const announced: string[] = [];
	const { flows } = setup({
		accountClosed: async userId => {
			if (!channelUp) throw new Error("channel down");
			announced.push(userId);
		},
	});
	const result = await flows.register({ email: email(), password: PASSWORD, displayName: "Jo" }, {});
	await flows.closeAccount(result.user.id, PASSWORD, {});
	expect(announced).toEqual([]);
	channelUp = true;
	expect(await flows.announcePendingClosures()).toBe(1);
	expect(announced).toContain(result.user.id);
	expect(await flows.announcePendingClosures()).toBe(0);
});
