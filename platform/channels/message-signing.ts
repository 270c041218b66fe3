/**
 * Durable channel messages carry a signature, so a consumer acts only on what one of our services
 * sent: anyone who can write to Redis, NATS or Kafka could otherwise forge an audit fact or erase a
 * user with a `users.deleted` message. The signature is a compact JWS (EdDSA, with the key id) made
 * with the node's token signing ring, whose header type differs from an access token's so neither
 * can stand for the other. It binds the channel, the sending service, the message id (what
 * consumers deduplicate by, so a replayed copy is recognised) and a hash of the payload;
 * CHANNEL_PUBLISHERS says which service may send on which channel. Plain functions: the channels
 * middleware (security.ts) wires them to sends and handlers.
 */
import { createHash } from "node:crypto";
import { CompactSign, compactVerify, type JWK } from "jose";
import { ACCESS_TOKEN_ALGORITHM, importedKey, type KeyRing } from "../identity/tokens";

/** The header every signed message carries (all adapters pass headers through, dead-lettering too). */
export const SIGNATURE_HEADER = "x-lootopia-signature";
const MESSAGE_TYPE = "lootopia-message+jws";

/** JSON with object keys sorted, so sender and consumer hash the same text for the same value. */
export function canonicalJson(value: unknown): string {
	if (Array.isArray(value)) return `[${value.map(item => canonicalJson(item ?? null)).join(",")}]`;
	if (value && typeof value === "object") {
		const entries = Object.entries(value as Record<string, unknown>)
			.filter(([, v]) => v !== undefined)
			.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
		return `{${entries.map(([key, v]) => `${JSON.stringify(key)}:${canonicalJson(v)}`).join(",")}}`;
	}
	return JSON.stringify(value ?? null);
}

const payloadHash = (payload: unknown) => createHash("sha256").update(canonicalJson(payload)).digest("base64url");

interface SignedClaims {
	ch: string;
	svc: string;
	h: string;
	iat: number;
	/** The message id (outbox messages have one). */
	mid?: string;
}

export async function signMessage(ring: KeyRing, channel: string, sender: string, payload: unknown, options: { messageId?: string; now?: Date } = {}): Promise<string> {
	const now = options.now ?? new Date();
	const key = await importedKey(ring.current.privateJwk);
	// Hashed as the consumer will see it: after the JSON round trip every transport makes (a Date
	// becomes its ISO string, undefined fields vanish).
	const claims: SignedClaims = {
		ch: channel,
		svc: sender,
		h: payloadHash(JSON.parse(JSON.stringify(payload ?? null))),
		iat: Math.floor(now.getTime() / 1000),
		...(options.messageId ? { mid: options.messageId } : {}),
	};
	return new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, kid: ring.current.kid, typ: MESSAGE_TYPE }).sign(key);
}

export type MessageVerdict =
	| { ok: true; sender: string; messageId?: string }
	| { ok: false; reason: "unsigned" | "malformed" | "unknown key" | "bad signature" | "other channel" | "payload changed" | "sender not allowed" | "expired" | "from the future" };

/** Clocks of the nodes may differ by this much. */
const CLOCK_SKEW_SECONDS = 300;

/**
 * `publishers`: the services allowed on `channel`. `keys` returns the public keys, and is asked
 * again (`refresh`) once when a signature names a key not among them (a rotation elsewhere).
 */
export async function verifyMessage(
	channel: string,
	payload: unknown,
	signature: unknown,
	publishers: readonly string[],
	keys: (refresh: boolean) => Promise<readonly JWK[]>,
	options: { maxAgeSeconds?: number; now?: Date } = {},
): Promise<MessageVerdict> {
	if (typeof signature !== "string" || !signature) return { ok: false, reason: "unsigned" };
	let header: { kid?: string; typ?: string; alg?: string };
	try {
		header = JSON.parse(Buffer.from(signature.split(".")[0], "base64url").toString("utf8"));
	} catch {
		return { ok: false, reason: "malformed" };
	}
	if (header.typ !== MESSAGE_TYPE || header.alg !== ACCESS_TOKEN_ALGORITHM || typeof header.kid !== "string") return { ok: false, reason: "malformed" };
	let jwk = (await keys(false)).find(key => key.kid === header.kid);
	jwk ??= (await keys(true)).find(key => key.kid === header.kid);
	if (!jwk) return { ok: false, reason: "unknown key" };
	let claims: SignedClaims;
	try {
		const { payload: bytes } = await compactVerify(signature, await importedKey(jwk), { algorithms: [ACCESS_TOKEN_ALGORITHM] });
		claims = JSON.parse(new TextDecoder().decode(bytes)) as SignedClaims;
	} catch {
		return { ok: false, reason: "bad signature" };
	}
	if (claims.ch !== channel) return { ok: false, reason: "other channel" };
	if (claims.h !== payloadHash(payload)) return { ok: false, reason: "payload changed" };
	if (!publishers.includes(claims.svc)) return { ok: false, reason: "sender not allowed" };
	const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
	if (typeof claims.iat !== "number" || claims.iat > nowSeconds + CLOCK_SKEW_SECONDS) return { ok: false, reason: "from the future" };
	if (options.maxAgeSeconds !== undefined && nowSeconds - claims.iat > options.maxAgeSeconds) return { ok: false, reason: "expired" };
	return { ok: true, sender: claims.svc, ...(typeof claims.mid === "string" ? { messageId: claims.mid } : {}) };
}
