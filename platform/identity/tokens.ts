/**
 * Access tokens: short-lived JWTs signed with Ed25519 keys that carry a key id, so keys rotate
 * without logging anyone out — a new key signs, the previous ones still verify until their tokens
 * have expired. Verification accepts only our algorithm, issuer and audience: `alg: none`, an HMAC
 * made with a public key, a foreign or unknown key, a tampered or expired token are all refused.
 * jose does the cryptography and the JWT rules; this module pins how we use it.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload } from "jose";

export const ACCESS_TOKEN_ALGORITHM = "EdDSA";

export interface SigningKeyRecord {
	kid: string;
	/** Private JWK (Ed25519); only signing nodes hold it. */
	privateJwk: JWK;
	publicJwk: JWK;
	createdAt: string;
}

export interface KeyRing {
	/** The key that signs new tokens. */
	current: SigningKeyRecord;
	/** Older keys that still verify tokens issued before a rotation. */
	previous: SigningKeyRecord[];
}

export interface AccessClaims {
	/** User id. */
	sub: string;
	roles: string[];
	/** Partner memberships: partner id → role in that partner. */
	partners: Record<string, "owner" | "editor">;
	/** Refresh-token family (session) the token belongs to, so a logout can be honoured. */
	sid: string;
}

export interface TokenSettings {
	issuer: string;
	audience: string;
	accessTtlSeconds: number;
	/** Allowed clock difference between nodes. */
	clockToleranceSeconds?: number;
}

export async function generateSigningKey(now = new Date()): Promise<SigningKeyRecord> {
	const { privateKey, publicKey } = await generateKeyPair(ACCESS_TOKEN_ALGORITHM, { crv: "Ed25519", extractable: true });
	const kid = `k-${now.toISOString().slice(0, 10)}-${randomBytes(4).toString("hex")}`;
	return {
		kid,
		privateJwk: { ...(await exportJWK(privateKey)), kid, alg: ACCESS_TOKEN_ALGORITHM },
		publicJwk: { ...(await exportJWK(publicKey)), kid, alg: ACCESS_TOKEN_ALGORITHM },
		createdAt: now.toISOString(),
	};
}

/** A new current key; the old one moves to `previous` and keeps verifying. */
export async function rotate(ring: KeyRing, keep = 2): Promise<KeyRing> {
	return { current: await generateSigningKey(), previous: [ring.current, ...ring.previous].slice(0, keep) };
}

export async function signAccessToken(ring: KeyRing, claims: AccessClaims, settings: TokenSettings, now = new Date()): Promise<string> {
	const key = await importedKey(ring.current.privateJwk);
	const issuedAt = Math.floor(now.getTime() / 1000);
	return new SignJWT({ roles: claims.roles, partners: claims.partners, sid: claims.sid })
		.setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, kid: ring.current.kid, typ: "at+jwt" })
		.setSubject(claims.sub)
		.setIssuer(settings.issuer)
		.setAudience(settings.audience)
		.setIssuedAt(issuedAt)
		.setExpirationTime(issuedAt + settings.accessTtlSeconds)
		.setJti(randomBytes(12).toString("base64url"))
		.sign(key);
}

export class InvalidTokenError extends Error {
	constructor(readonly reason: string) {
		super(`Invalid access token: ${reason}`);
		this.name = "InvalidTokenError";
	}
}

export async function verifyAccessToken(ring: KeyRing, token: string, settings: TokenSettings, now = new Date()): Promise<AccessClaims & JWTPayload> {
	return verifyWithPublicKeys(publicKeysOf(ring), token, settings, now);
}

// Importing a JWK costs more than verifying a signature with it; signers and verifiers keep the same
// objects (a ring's keys, a fetched key set), so each is imported once.
const importedKeys = new WeakMap<JWK, ReturnType<typeof importJWK>>();
export function importedKey(jwk: JWK): ReturnType<typeof importJWK> {
	let key = importedKeys.get(jwk);
	if (!key) {
		key = importJWK(jwk, ACCESS_TOKEN_ALGORITHM);
		importedKeys.set(jwk, key);
	}
	return key;
}

/** The verifying half of a ring, safe to hand to any node. */
export function publicKeysOf(ring: KeyRing): JWK[] {
	return [ring.current, ...ring.previous].map(record => record.publicJwk);
}

/** Verification for nodes that only hold the public keys (fetched from the auth service). */
export async function verifyWithPublicKeys(publicJwks: readonly JWK[], token: string, settings: TokenSettings, now = new Date()): Promise<AccessClaims & JWTPayload> {
	const keys = new Map(publicJwks.filter(jwk => jwk.kid).map(jwk => [jwk.kid as string, jwk]));
	try {
		const { payload } = await jwtVerify(
			token,
			async header => {
				const jwk = header.kid ? keys.get(header.kid) : undefined;
				if (!jwk) throw new InvalidTokenError("unknown key");
				return importedKey(jwk);
			},
			{
				algorithms: [ACCESS_TOKEN_ALGORITHM],
				issuer: settings.issuer,
				audience: settings.audience,
				typ: "at+jwt",
				clockTolerance: settings.clockToleranceSeconds ?? 5,
				currentDate: now,
				requiredClaims: ["sub", "exp", "iat", "sid"],
			},
		);
		if (!Array.isArray(payload.roles) || typeof payload.partners !== "object" || payload.partners === null) throw new InvalidTokenError("malformed claims");
		// jose checks exp; it does not refuse a token dated in the future or one that lives longer
		// than we ever issue (a leaked key aside, either means a token we did not make as configured).
		const tolerance = settings.clockToleranceSeconds ?? 5;
		const issuedAt = payload.iat!;
		if (issuedAt > Math.floor(now.getTime() / 1000) + tolerance) throw new InvalidTokenError("issued in the future");
		const machine = typeof payload.sub === "string" && /^(service|operator):/.test(payload.sub);
		const longest = machine ? MACHINE_TOKEN_MAX_TTL_SECONDS : settings.accessTtlSeconds;
		if (payload.exp! - issuedAt > longest) throw new InvalidTokenError("lifetime longer than allowed");
		return payload as AccessClaims & JWTPayload;
	} catch (err) {
		if (err instanceof InvalidTokenError) throw err;
		const code = (err as { code?: string }).code ?? "";
		throw new InvalidTokenError(code === "ERR_JWT_EXPIRED" ? "expired" : code || "unreadable");
	}
}

/** The longest a machine token (service or operator) may live; user tokens live accessTtlSeconds. */
export const MACHINE_TOKEN_MAX_TTL_SECONDS = 15 * 60;

/**
 * Refresh tokens are opaque random strings; only their SHA-256 is stored, so a database leak
 * yields nothing usable. (Hashing a 256-bit random value needs no salt or slow hash.)
 */
export function newRefreshToken(): { token: string; hash: string } {
	const token = randomBytes(32).toString("base64url");
	return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
	return createHash("sha256").update(token).digest("hex");
}

export function refreshTokenMatches(token: string, storedHash: string): boolean {
	const candidate = Buffer.from(hashRefreshToken(token), "hex");
	const stored = Buffer.from(storedHash, "hex");
	return candidate.length === stored.length && timingSafeEqual(candidate, stored);
}

/**
 * A token that stands for a machine rather than a session: a service calling another on its own
 * behalf (`service:<name>`, role `service`) or an operator at the REPL (`operator:<name>`, role
 * `operator`). Short-lived, and only mintable by whoever holds the signing key.
 */
export async function signMachineToken(ring: KeyRing, subject: string, role: "service" | "operator", settings: TokenSettings, ttlSeconds = 120): Promise<string> {
	if (ttlSeconds > MACHINE_TOKEN_MAX_TTL_SECONDS) throw new Error(`machine tokens live at most ${MACHINE_TOKEN_MAX_TTL_SECONDS} s`);
	return signAccessToken(ring, { sub: subject, roles: [role], partners: {}, sid: subject }, { ...settings, accessTtlSeconds: ttlSeconds });
}
