import { createHmac, generateKeyPairSync } from "node:crypto";
import { exportJWK } from "jose";
import { AccessClaims, generateSigningKey, KeyRing, newRefreshToken, refreshTokenMatches, rotate, signAccessToken, signMachineToken, TokenSettings, verifyAccessToken } from "./tokens";

const settings: TokenSettings = { issuer: "lootopia", audience: "lootopia-api", accessTtlSeconds: 900 };
const claims: AccessClaims = { sub: "user-1", roles: ["player"], partners: { "partner-9": "editor" }, sid: "family-1" };

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("access tokens", () => {
	let ring: KeyRing;
	beforeAll(async () => {
		ring = { current: await generateSigningKey(), previous: [] };
	});

	it("round-trips the claims, with the key id in the header", async () => {
		const token = await signAccessToken(ring, claims, settings);
		const header = JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString());
		expect(header).toEqual({ alg: "EdDSA", kid: ring.current.kid, typ: "at+jwt" });
		expect(await verifyAccessToken(ring, token, settings)).toEqual(expect.objectContaining({ ...claims, iss: "lootopia", aud: "lootopia-api" }));
	});

	it("refuses a tampered payload", async () => {
		const [header, , signature] = (await signAccessToken(ring, claims, settings)).split(".");
		const forged = [header, b64url({ ...claims, roles: ["admin"], iss: "lootopia", aud: "lootopia-api", exp: 9999999999, iat: 1 }), signature].join(".");
		await expect(verifyAccessToken(ring, forged, settings)).rejects.toMatchObject({ name: "InvalidTokenError" });
	});

	it("refuses an expired token, beyond the clock tolerance", async () => {
		const issued = new Date("2026-01-01T00:00:00Z");
		const token = await signAccessToken(ring, claims, settings, issued);
		const later = new Date(issued.getTime() + 901_000 + 10_000);
		await expect(verifyAccessToken(ring, token, settings, later)).rejects.toMatchObject({ reason: "expired" });
		expect(await verifyAccessToken(ring, token, settings, new Date(issued.getTime() + 60_000))).toBeDefined();
	});

	it("refuses a token issued in the future, or living longer than configured (properly signed all the same)", async () => {
		const now = new Date("2026-03-01T12:00:00Z");
		const fromTheFuture = await signAccessToken(ring, claims, settings, new Date(now.getTime() + 60_000));
		await expect(verifyAccessToken(ring, fromTheFuture, settings, now)).rejects.toMatchObject({ reason: "issued in the future" });
		// Within the clock tolerance it is fine.
		expect(await verifyAccessToken(ring, await signAccessToken(ring, claims, settings, new Date(now.getTime() + 3_000)), settings, now)).toBeDefined();
		const longLived = await signAccessToken(ring, claims, { ...settings, accessTtlSeconds: 7 * 24 * 3600 }, now);
		await expect(verifyAccessToken(ring, longLived, settings, now)).rejects.toMatchObject({ reason: "lifetime longer than allowed" });
		// Machine tokens may live up to 15 minutes whatever the user setting.
		const operator = await signMachineToken(ring, "operator:jane", "operator", { ...settings, accessTtlSeconds: 60 }, 15 * 60);
		expect(await verifyAccessToken(ring, operator, { ...settings, accessTtlSeconds: 60 })).toMatchObject({ sub: "operator:jane" });
		await expect(signMachineToken(ring, "operator:jane", "operator", settings, 16 * 60)).rejects.toThrow("at most 900 s");
	});

	it("refuses alg none and an HMAC signed with the public key", async () => {
		const payload = b64url({ ...claims, iss: "lootopia", aud: "lootopia-api", exp: 9999999999, iat: Math.floor(Date.now() / 1000) });
		const unsigned = `${b64url({ alg: "none", typ: "at+jwt", kid: ring.current.kid })}.${payload}.`;
		await expect(verifyAccessToken(ring, unsigned, settings)).rejects.toMatchObject({ name: "InvalidTokenError" });
		const hmacHeader = b64url({ alg: "HS256", typ: "at+jwt", kid: ring.current.kid });
		const mac = createHmac("sha256", JSON.stringify(ring.current.publicJwk)).update(`${hmacHeader}.${payload}`).digest("base64url");
		await expect(verifyAccessToken(ring, `${hmacHeader}.${payload}.${mac}`, settings)).rejects.toMatchObject({ name: "InvalidTokenError" });
	});

	it("refuses a token signed by a key that is not ours, even with a known key id", async () => {
		const { privateKey, publicKey } = generateKeyPairSync("ed25519");
		const foreign: KeyRing = {
			current: { kid: ring.current.kid, privateJwk: { ...(await exportJWK(privateKey)), kid: ring.current.kid }, publicJwk: await exportJWK(publicKey), createdAt: "" },
			previous: [],
		};
		const token = await signAccessToken(foreign, claims, settings);
		await expect(verifyAccessToken(ring, token, settings)).rejects.toMatchObject({ name: "InvalidTokenError" });
	});

	it("refuses another issuer or audience", async () => {
		const token = await signAccessToken(ring, claims, { ...settings, audience: "someone-else" });
		await expect(verifyAccessToken(ring, token, settings)).rejects.toMatchObject({ name: "InvalidTokenError" });
	});

	it("keeps verifying tokens of the previous key after a rotation, and drops keys beyond what it keeps", async () => {
		const before = await signAccessToken(ring, claims, settings);
		const rotated = await rotate(ring);
		expect(rotated.current.kid).not.toBe(ring.current.kid);
		expect(await verifyAccessToken(rotated, before, settings)).toEqual(expect.objectContaining({ sub: "user-1" }));
		const afterTwoMore = await rotate(await rotate(rotated), 1);
		await expect(verifyAccessToken(afterTwoMore, before, settings)).rejects.toMatchObject({ reason: "unknown key" });
	});
});

describe("refresh tokens", () => {
	it("are random, stored only as a hash, and matched in constant time", () => {
		const a = newRefreshToken();
		const b = newRefreshToken();
		expect(a.token).not.toBe(b.token);
		expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
		expect(a.hash).not.toContain(a.token);
		expect(refreshTokenMatches(a.token, a.hash)).toBe(true);
		expect(refreshTokenMatches(b.token, a.hash)).toBe(false);
		expect(refreshTokenMatches(a.token, "abc")).toBe(false);
	});
});
