/**
 * The auth flows without a broker: PGlite for the store and the outbox, the in-memory key-value
 * store for the throttle, and recording stubs for the ports, so each step's effect on the rest of
 * the platform (profile, revocation, and the audit facts and announcements in the outbox) is visible.
 */
import { MemoryStore } from "../../platform/store/memory-store";
import { openTestPGlite, useMigratedSchema } from "../../test/support/sql";
import { rejectionOf } from "../../test/support/async";
import { AccountStore, AUTH_MIGRATIONS } from "./account-store";
import { AuthFlows, type AuthPorts } from "./auth-flows";
import { Outbox } from "../../platform/outbox/outbox";
import { AUDIT_CHANNEL, type AuditFact } from "../../contracts/audit";
import { SESSIONS_REVOKED_CHANNEL, USER_DELETED_CHANNEL } from "../../contracts/auth";
import { LoginThrottle, RegistrationLimit } from "./login-throttle";
import { generateSigningKey, verifyAccessToken, type KeyRing } from "../../platform/identity/tokens";

const settings = { token: { issuer: "lootopia", audience: "lootopia-api", accessTtlSeconds: 900 }, refreshTtlSeconds: 3600 };
const PASSWORD = "a perfectly fine passphrase";

const db = useMigratedSchema(openTestPGlite, "auth", AUTH_MIGRATIONS);
const schema = db.schema;
let ring: KeyRing;

beforeAll(async () => {
	ring = { current: await generateSigningKey(), previous: [] };
});

/** What the flows wrote to the outbox on `channel` since the setup, oldest first. */
async function outboxed<Payload>(channel: string): Promise<Array<{ id: string; payload: Payload; partitionKey: string | null }>> {
	const { rows } = await db.client.query<{ id: string; payload: string; partition_key: string | null }>(`select id, payload, partition_key from "${schema}".outbox where channel = $1 order by seq`, [
		channel,
	]);
	return rows.map(row => ({ id: row.id, payload: JSON.parse(row.payload) as Payload, partitionKey: row.partition_key }));
}

async function setup(overrides: Partial<AuthPorts> = {}, registrations?: RegistrationLimit, outbox = new Outbox(db.client, schema)) {
	await db.client.query(`delete from "${schema}".outbox`);
	const revoked: string[] = [];
	const profiles: string[] = [];
	const ports: AuthPorts = {
		createProfile: async userId => void profiles.push(userId),
		membershipsOf: async () => ({ "partner-1": "editor" }),
		sessionsRevoked: async ids => void revoked.push(...ids),
		...overrides,
	};
	const store = new AccountStore(db.client, schema);
	const flows = new AuthFlows(store, outbox, new LoginThrottle(new MemoryStore()), () => ring, settings, ports, registrations);
	const audit = async () => (await outboxed<AuditFact>(AUDIT_CHANNEL)).map(message => message.payload);
	const closed = async () => (await outboxed<{ userId: string }>(USER_DELETED_CHANNEL)).map(message => message.payload.userId);
	return { flows, store, audit, revoked, profiles, closed };
}

let counter = 0;
const email = () => `user${++counter}-${schema}@example.com`;

it("registers: account, profile, session, and a token carrying the user", async () => {
	const { flows, profiles, audit } = await setup();
	const result = await flows.register({ email: ` ${email()} `, password: PASSWORD, displayName: " Ana " }, { clientIp: "203.0.113.9" });
	expect(profiles).toEqual([result.user.id]);
	expect(result.user).toMatchObject({ displayName: "Ana", roles: ["player"], partners: {} });
	expect(result.user.email).not.toMatch(/^\s|\s$/);
	const claims = await verifyAccessToken(ring, result.accessToken, settings.token);
	expect(claims).toMatchObject({ sub: result.user.id, roles: ["player"] });
	expect((await audit()).map(f => f.action)).toEqual(["auth.registered"]);
});

it("undoes the account when the profile cannot be created, so registering again works", async () => {
	const address = email();
	const failing = await setup({ createProfile: async () => Promise.reject(new Error("users service down")) });
	expect(await rejectionOf(failing.flows.register({ email: address, password: PASSWORD, displayName: "Bo" }, {}))).toMatchObject({ message: "users service down" });
	expect(await failing.store.findByEmailKey(address)).toBeUndefined();
	const { flows } = await setup();
	expect((await flows.register({ email: address, password: PASSWORD, displayName: "Bo" }, {})).user.displayName).toBe("Bo");
});

it("logs in with memberships in the token, and audits failures without the email", async () => {
	const address = email();
	const { flows, audit } = await setup();
	await flows.register({ email: address, password: PASSWORD, displayName: "Cy" }, {});
	const result = await flows.login({ email: address.toUpperCase(), password: PASSWORD }, { clientIp: "203.0.113.1" });
	expect(result.user.partners).toEqual({ "partner-1": "editor" });
	expect(await rejectionOf(flows.login({ email: address, password: "wrong password here" }, { clientIp: "203.0.113.1" }))).toMatchObject({ type: "INVALID_CREDENTIALS" });
	const failed = (await audit()).find(f => f.action === "auth.login.failed");
	expect(failed).toMatchObject({ data: { knownAccount: true } });
	expect(JSON.stringify(await audit())).not.toContain(address);
});

it("throttles with a retry delay after repeated failures, whether or not the account exists", async () => {
	const { flows, audit } = await setup();
	for (const address of [email(), "nobody-at-all@example.com"]) {
		for (let i = 0; i < 6; i++) await rejectionOf(flows.login({ email: address, password: `guess ${i} guess` }, { clientIp: `198.51.100.${i}` }));
		const err = await rejectionOf(flows.login({ email: address, password: PASSWORD }, { clientIp: "192.0.2.1" }));
		expect(err).toMatchObject({ type: "LOGIN_THROTTLED", data: { retryAfterSeconds: expect.any(Number) } });
	}
	expect((await audit()).filter(f => f.action === "auth.login.throttled")).toHaveLength(2);
});

it("revokes the family and says so when a used refresh token comes back", async () => {
	const { flows, audit, revoked } = await setup();
	const first = await flows.register({ email: email(), password: PASSWORD, displayName: "Di" }, {});
	const second = await flows.refresh(first.refreshToken, {});
	// At once again: the grace window (a second tab) gives one sibling, on record; a third use is theft.
	await flows.refresh(first.refreshToken, { clientIp: "198.51.100.4" });
	expect((await audit()).filter(f => f.action === "auth.refresh.grace_reuse")).toEqual([expect.objectContaining({ actor: { type: "anonymous", ip: "198.51.100.4" } })]);
	expect(await rejectionOf(flows.refresh(first.refreshToken, { clientIp: "203.0.113.66" }))).toMatchObject({ type: "INVALID_REFRESH_TOKEN" });
	expect(await rejectionOf(flows.refresh(second.refreshToken, {}))).toMatchObject({ type: "INVALID_REFRESH_TOKEN" });
	const claims = await verifyAccessToken(ring, second.accessToken, settings.token);
	expect(revoked).toEqual([claims.sid]);
	expect((await audit()).filter(f => f.action === "auth.refresh.reused")).toHaveLength(1);
});

it("closes an account only with its password, then revokes and announces", async () => {
	const { flows, revoked, closed } = await setup();
	const result = await flows.register({ email: email(), password: PASSWORD, displayName: "Ed" }, {});
	expect(await rejectionOf(flows.closeAccount(result.user.id, "not the password", {}))).toMatchObject({ type: "INVALID_CREDENTIALS" });
	expect(await closed()).toEqual([]);
	await flows.closeAccount(result.user.id, PASSWORD, {});
	expect(revoked).toHaveLength(1);
	expect(await closed()).toEqual([result.user.id]);
	expect(await rejectionOf(flows.me(result.user.id))).toMatchObject({ type: "NOT_FOUND" });
});

it("ends the sessions of an account whose role is taken away", async () => {
	const { flows, revoked } = await setup();
	const result = await flows.register({ email: email(), password: PASSWORD, displayName: "Ko" }, {});
	await flows.setRole(result.user.id, "admin", true, { type: "operator", id: "test" });
	expect(revoked).toEqual([]);
	await flows.setRole(result.user.id, "admin", false, { type: "operator", id: "test" });
	expect(revoked).toHaveLength(1);
	// The same sessions go out on the channel with the change, for when the immediate mark fails.
	expect((await outboxed<{ sessionIds: string[] }>(SESSIONS_REVOKED_CHANNEL)).map(m => m.payload.sessionIds)).toEqual([revoked]);
	expect(await rejectionOf(flows.refresh(result.refreshToken, {}))).toMatchObject({ type: "INVALID_REFRESH_TOKEN" });
});

it("creates the configured admin once, and promotes an existing account without touching its password", async () => {
	const { flows } = await setup();
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
	const { flows, profiles } = await setup({}, new RegistrationLimit(new MemoryStore(), 2));
	await flows.register({ email: email(), password: PASSWORD, displayName: "Gi" }, { clientIp: "203.0.113.5" });
	// A refused attempt counts too: probing for taken emails is what the limit is for.
	expect(await rejectionOf(flows.register({ email: "nope", password: "short", displayName: "x" }, { clientIp: "203.0.113.5" }))).toMatchObject({ type: "WEAK_PASSWORD" });
	const limited = await rejectionOf(flows.register({ email: email(), password: PASSWORD, displayName: "Ha" }, { clientIp: "203.0.113.5" }));
	expect(limited).toMatchObject({ type: "RATE_LIMITED", data: { retryAfterSeconds: expect.any(Number) } });
	expect(profiles).toHaveLength(1);
	await flows.register({ email: email(), password: PASSWORD, displayName: "Io" }, { clientIp: "198.51.100.5" });
	expect(profiles).toHaveLength(2);
});

it("commits a closure with its announcement and its audit fact, or none of them", async () => {
	const { flows, store } = await setup();
	const result = await flows.register({ email: email(), password: PASSWORD, displayName: "Jo" }, { requestId: "req-1" });
	// An outbox that cannot take the announcement: the closure must not commit without it.
	class BrokenOutbox extends Outbox {
		override add(...args: Parameters<Outbox["add"]>): Promise<string> {
			if (args[1] === USER_DELETED_CHANNEL) return Promise.reject(new Error("disk full"));
			return super.add(...args);
		}
	}
	const broken = await setup({}, undefined, new BrokenOutbox(db.client, schema));
	expect(await rejectionOf(broken.flows.closeAccount(result.user.id, PASSWORD, {}))).toMatchObject({ message: "disk full" });
	expect((await store.findById(result.user.id))?.status).toBe("active");
	expect(broken.revoked).toEqual([]);
	expect(await broken.audit()).toEqual([]);

	const working = await setup();
	await working.flows.closeAccount(result.user.id, PASSWORD, { requestId: "req-2" });
	expect((await store.findById(result.user.id))?.status).toBe("closed");
	const [announcement] = await outboxed<{ userId: string; at: string }>(USER_DELETED_CHANNEL);
	expect(announcement).toMatchObject({ payload: { userId: result.user.id, at: expect.any(String) }, partitionKey: result.user.id });
	const facts = await working.audit();
	expect(facts).toEqual([expect.objectContaining({ action: "auth.account.closed", requestId: "req-2", subject: { type: "account", id: result.user.id } })]);
	// The fact's id is its message id: the audit log keeps one copy of a redelivered fact.
	expect((await outboxed<AuditFact>(AUDIT_CHANNEL))[0].id).toBe(facts[0].id);
});
