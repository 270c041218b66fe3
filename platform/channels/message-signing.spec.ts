import type { JWK } from "jose";
import { generateSigningKey, publicKeysOf, signAccessToken, type KeyRing } from "../identity/tokens";
import { canonicalJson, signMessage, verifyMessage } from "./message-signing";

describe("channel message signatures", () => {
	let ring: KeyRing;
	let rogue: KeyRing;
	let keys: (refresh: boolean) => Promise<JWK[]>;
	const fact = { id: "f-1", action: "partners.verified", actor: { type: "operator", id: "jane" }, data: { n: 1, list: [1, "b"] } };

	beforeAll(async () => {
		ring = { current: await generateSigningKey(), previous: [] };
		rogue = { current: await generateSigningKey(), previous: [] };
		keys = async () => publicKeysOf(ring);
	});

	it("accepts what an allowed service signed, whatever the key order after a round trip", async () => {
		const signature = await signMessage(ring, "audit.facts", "partners", fact);
		const roundTripped = JSON.parse(JSON.stringify({ data: fact.data, actor: fact.actor, action: fact.action, id: fact.id }));
		expect(await verifyMessage("audit.facts", roundTripped, signature, ["auth", "partners"], keys)).toEqual({ ok: true, sender: "partners" });
	});

	it("refuses unsigned, tampered, re-addressed and unauthorised messages, each with its reason", async () => {
		const signature = await signMessage(ring, "audit.facts", "partners", fact);
		expect(await verifyMessage("audit.facts", fact, undefined, ["partners"], keys)).toEqual({ ok: false, reason: "unsigned" });
		expect(await verifyMessage("audit.facts", { ...fact, action: "partners.suspended" }, signature, ["partners"], keys)).toEqual({ ok: false, reason: "payload changed" });
		expect(await verifyMessage("users.deleted", fact, signature, ["partners"], keys)).toEqual({ ok: false, reason: "other channel" });
		expect(await verifyMessage("audit.facts", fact, signature, ["auth"], keys)).toEqual({ ok: false, reason: "sender not allowed" });
		expect(await verifyMessage("audit.facts", fact, "garbage", ["partners"], keys)).toEqual({ ok: false, reason: "malformed" });
	});

	it("refuses a signature made with a key that is not ours, even under our key id", async () => {
		const foreign = await signMessage(rogue, "audit.facts", "partners", fact);
		expect(await verifyMessage("audit.facts", fact, foreign, ["partners"], keys)).toEqual({ ok: false, reason: "unknown key" });
		const underOurKid = await signMessage(
			{ current: { ...rogue.current, kid: ring.current.kid, privateJwk: { ...rogue.current.privateJwk, kid: ring.current.kid } }, previous: [] },
			"audit.facts",
			"partners",
			fact,
		);
		expect(await verifyMessage("audit.facts", fact, underOurKid, ["partners"], keys)).toEqual({ ok: false, reason: "bad signature" });
	});

	it("does not take an access token for a message signature", async () => {
		const token = await signAccessToken(ring, { sub: "service:partners", roles: ["service"], partners: {}, sid: "x" }, { issuer: "lootopia", audience: "lootopia-api", accessTtlSeconds: 60 });
		expect(await verifyMessage("audit.facts", fact, token, ["partners"], keys)).toEqual({ ok: false, reason: "malformed" });
	});

	it("asks for the keys again once when a signature names a key it does not know (a rotation)", async () => {
		const rotated: KeyRing = { current: await generateSigningKey(), previous: [ring.current] };
		let refreshed = 0;
		const stale = async (refresh: boolean) => {
			if (refresh) refreshed++;
			return refresh ? publicKeysOf(rotated) : publicKeysOf(ring);
		};
		const signature = await signMessage(rotated, "audit.facts", "auth", fact);
		expect(await verifyMessage("audit.facts", fact, signature, ["auth"], stale)).toEqual({ ok: true, sender: "auth" });
		expect(refreshed).toBe(1);
	});

	it("hashes what the consumer will see after the JSON round trip (a Date arrives as its ISO string)", async () => {
		const at = new Date("2026-05-01T10:00:00.000Z");
		const signature = await signMessage(ring, "users.renamed", "users", { userId: "u1", at, gone: undefined });
		expect(await verifyMessage("users.renamed", { userId: "u1", at: at.toISOString() }, signature, ["users"], keys)).toEqual({ ok: true, sender: "users" });
	});

	it("binds the message id, and refuses what is too old to tell from a replay or signed in the future", async () => {
		const signature = await signMessage(ring, "audit.facts", "partners", fact, { messageId: "m-1" });
		expect(await verifyMessage("audit.facts", fact, signature, ["partners"], keys)).toEqual({ ok: true, sender: "partners", messageId: "m-1" });
		const day = 86_400_000;
		const old = await signMessage(ring, "audit.facts", "partners", fact, { messageId: "m-2", now: new Date(Date.now() - 15 * day) });
		expect(await verifyMessage("audit.facts", fact, old, ["partners"], keys, { maxAgeSeconds: 14 * 86_400 })).toEqual({ ok: false, reason: "expired" });
		expect(await verifyMessage("audit.facts", fact, old, ["partners"], keys, { maxAgeSeconds: 16 * 86_400 })).toMatchObject({ ok: true });
		const future = await signMessage(ring, "audit.facts", "partners", fact, { now: new Date(Date.now() + 3600_000) });
		expect(await verifyMessage("audit.facts", fact, future, ["partners"], keys)).toEqual({ ok: false, reason: "from the future" });
	});

	it("writes canonical JSON: sorted keys, undefined dropped", () => {
		expect(canonicalJson({ b: 1, a: [{ d: undefined, c: null }] })).toBe('{"a":[{"c":null}],"b":1}');
	});
});
