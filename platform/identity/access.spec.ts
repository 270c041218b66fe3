import { randomUUID } from "node:crypto";
import { AccessTokenVerifier, callerFromClaims, decideAccess, isAdmin } from "./access";
import { generateSigningKey, InvalidTokenError, publicKeysOf, rotate, signAccessToken, signMachineToken, type KeyRing } from "./tokens";
import type { Caller } from "../../contracts/identity";

const settings = { issuer: "lootopia", audience: "lootopia-api", accessTtlSeconds: 900 };
const player: Caller = { kind: "user", userId: "u1", roles: ["player"], partners: {}, sessionId: "s1" };
const admin: Caller = { kind: "user", userId: "u2", roles: ["player", "admin"], partners: {}, sessionId: "s2" };
const service: Caller = { kind: "service", service: "auth" };
const operator: Caller = { kind: "operator", operator: "alice" };
const anonymous: Caller = { kind: "anonymous" };

describe("decideAccess", () => {
	it.each([
		["public", anonymous, "allowed"],
		["user", anonymous, "unauthenticated"],
		["user", player, "allowed"],
		["user", service, "forbidden"],
		["admin", player, "forbidden"],
		["admin", admin, "allowed"],
		["admin", service, "forbidden"],
		["service", player, "forbidden"],
		["service", admin, "forbidden"],
		["service", service, "allowed"],
		["admin", operator, "allowed"],
		["service", operator, "allowed"],
	] as const)("%s action, caller %o → %s", (access, caller, expected) => {
		expect(decideAccess(caller, access)).toBe(expected);
	});

	it("treats operators as admins", () => {
		expect([player, admin, service, operator, anonymous].map(isAdmin)).toEqual([false, true, false, true, false]);
	});
});

describe("decideAccess for a resource a partner owns", () => {
	const partnerId = randomUUID();
	const user = (roles: Array<"player" | "admin"> = ["player"]): Caller => ({ kind: "user", userId: randomUUID(), roles, partners: {}, sessionId: randomUUID() });
	const of = (memberships: Record<string, "owner" | "editor">, id: string | undefined = partnerId) => ({ id, memberships });

	it.each([
		["member", "editor", "allowed"],
		["member", "owner", "allowed"],
		["editor", "editor", "allowed"],
		["editor", "owner", "allowed"],
		["owner", "owner", "allowed"],
		["owner", "editor", "forbidden"],
	] as const)("%s access, current role %s: %s", (required, role, expected) => {
		expect(decideAccess(user(), { partner: required }, of({ [partnerId]: role }))).toBe(expected);
	});

	it("looks at the partner that owns the resource, not at any membership", () => {
		expect(decideAccess(user(), { partner: "member" }, of({ [randomUUID()]: "owner" }))).toBe("forbidden");
		expect(decideAccess(user(), { partner: "member" }, of({}))).toBe("forbidden");
	});

	it("names no partner for inherited keys or a missing id", () => {
		expect(decideAccess(user(), { partner: "member" }, of({}, "constructor"))).toBe("forbidden");
		expect(decideAccess(user(), { partner: "member" }, of({}, "__proto__"))).toBe("forbidden");
		expect(decideAccess(user(), { partner: "member" }, { id: undefined, memberships: { [partnerId]: "owner" } })).toBe("forbidden");
	});

	it("lets admins and operators through, asks anonymous callers to sign in and refuses services", () => {
		expect(decideAccess(user(["player", "admin"]), { partner: "owner" }, of({}))).toBe("allowed");
		expect(decideAccess({ kind: "operator", operator: "ops" }, { partner: "owner" })).toBe("allowed");
		expect(decideAccess({ kind: "anonymous" }, { partner: "member" })).toBe("unauthenticated");
		expect(decideAccess({ kind: "service", service: "hunts" }, { partner: "member" }, of({ [partnerId]: "owner" }))).toBe("forbidden");
	});
});

describe("callerFromClaims", () => {
	it("keeps only known roles and partner roles from a user token", () => {
		expect(callerFromClaims({ sub: "u1", roles: ["player", "superuser"], partners: { p1: "owner", p2: "emperor" as never }, sid: "s" })).toEqual({
			kind: "user",
			userId: "u1",
			roles: ["player"],
			partners: { p1: "owner" },
			sessionId: "s",
		});
	});

	it("needs both the subject prefix and the role to be a service or an operator", () => {
		expect(callerFromClaims({ sub: "service:auth", roles: ["service"], partners: {}, sid: "x" })).toEqual({ kind: "service", service: "auth" });
		expect(callerFromClaims({ sub: "operator:alice", roles: ["operator"], partners: {}, sid: "x" })).toEqual({ kind: "operator", operator: "alice" });
		expect(callerFromClaims({ sub: "service:auth", roles: ["player"], partners: {}, sid: "x" }).kind).toBe("user");
		expect(callerFromClaims({ sub: "u1", roles: ["service", "operator"], partners: {}, sid: "x" })).toMatchObject({ kind: "user", roles: [] });
	});
});

describe("AccessTokenVerifier", () => {
	let ring: KeyRing;
	beforeAll(async () => {
		ring = { current: await generateSigningKey(), previous: [] };
	});

	function verifier(options: { keys?: () => KeyRing; revoked?: Set<string>; now?: () => number } = {}) {
		const fetches: number[] = [];
		const revocationChecks: string[] = [];
		const instance = new AccessTokenVerifier({
			settings,
			fetchKeys: async () => {
				fetches.push(Date.now());
				return { keys: publicKeysOf((options.keys ?? (() => ring))()) as never };
			},
			isSessionRevoked: async sid => {
				revocationChecks.push(sid);
				return options.revoked?.has(sid) ?? false;
			},
			now: options.now,
		});
		return { instance, fetches, revocationChecks };
	}

	const userToken = (keyRing = ring, sid = randomUUID()) => signAccessToken(keyRing, { sub: randomUUID(), roles: ["player"], partners: { p1: "editor" }, sid }, settings);

	it("makes no token anonymous, and a valid one its user", async () => {
		const { instance } = verifier();
		expect(await instance.callerOf(undefined)).toEqual({ kind: "anonymous" });
		const caller = await instance.callerOf(await userToken());
		expect(caller).toMatchObject({ kind: "user", roles: ["player"], partners: { p1: "editor" } });
	});

	it("fetches the keys once, and checks revocation on every call even when the signature is cached", async () => {
		const { instance, fetches, revocationChecks } = verifier();
		const sid = randomUUID();
		const token = await userToken(ring, sid);
		await instance.callerOf(token);
		await instance.callerOf(token);
		await instance.callerOf(await userToken());
		expect(fetches).toHaveLength(1);
		expect(revocationChecks.filter(id => id === sid)).toHaveLength(2);
	});

	it("refuses a token of a revoked session", async () => {
		const sid = randomUUID();
		const { instance } = verifier({ revoked: new Set([sid]) });
		const token = await userToken(ring, sid);
		await expect(instance.callerOf(token)).rejects.toMatchObject({ reason: "session revoked" });
		// For a first check that a later one repeats in full (the gateway's): signature only.
		expect(await instance.callerOf(token, { checkRevocation: false })).toMatchObject({ kind: "user" });
	});

	it("does not look up sessions for service and operator tokens", async () => {
		const { instance, revocationChecks } = verifier();
		expect(await instance.callerOf(await signMachineToken(ring, "service:auth", "service", settings))).toEqual({ kind: "service", service: "auth" });
		expect(await instance.callerOf(await signMachineToken(ring, "operator:alice", "operator", settings))).toEqual({ kind: "operator", operator: "alice" });
		expect(revocationChecks).toEqual([]);
	});

	it("refetches the keys once when a token names a key rotated in since, but not for every unknown key id", async () => {
		let current = ring;
		let clock = Date.now();
		const { instance, fetches } = verifier({ keys: () => current, now: () => clock });
		await instance.callerOf(await userToken());
		current = await rotate(ring);
		clock += 6_000;
		expect(await instance.callerOf(await userToken(current))).toMatchObject({ kind: "user" });
		expect(fetches).toHaveLength(2);
		// A junk key id right after: refused without hammering the key source.
		const stranger = { current: await generateSigningKey(), previous: [] };
		await expect(instance.callerOf(await userToken(stranger))).rejects.toBeInstanceOf(InvalidTokenError);
		expect(fetches).toHaveLength(2);
		clock += 6_000;
		await expect(instance.callerOf(await userToken(stranger))).rejects.toMatchObject({ reason: "unknown key" });
		expect(fetches).toHaveLength(3);
	});

	it("stops accepting a key withdrawn from the ring once its copy of the keys is old", async () => {
		const withdrawn = ring;
		let current = ring;
		let clock = Date.now();
		const { instance, fetches } = verifier({ keys: () => current, now: () => clock });
		const token = await userToken(withdrawn);
		expect(await instance.callerOf(token)).toMatchObject({ kind: "user" });
		current = { current: await generateSigningKey(), previous: [] };
		clock += 60_000;
		expect(await instance.callerOf(token)).toMatchObject({ kind: "user" });
		clock += 300_000;
		await expect(instance.callerOf(token)).rejects.toMatchObject({ reason: "unknown key" });
		expect(fetches.length).toBeGreaterThanOrEqual(2);
	});

	it("forgets a cached verification once the token expires", async () => {
		let clock = Date.now();
		const { instance } = verifier({ now: () => clock });
		const token = await userToken();
		await instance.callerOf(token);
		clock += 901_000 + 5_000 + 1_000;
		await expect(instance.callerOf(token)).rejects.toMatchObject({ reason: "expired" });
	});
});
