import { createHash } from "node:crypto";
import type { AuditEntry, AuditFact } from "../../contracts/audit";
import { canonicalJson, chainFacts, ChainVerifier, contentOf, entryHash, GENESIS_HASH, verifyChain } from "./chain";

const fact = (n: number, extra: Partial<AuditFact> = {}): AuditFact => ({
	id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
	at: `2024-05-01T10:00:${String(n).padStart(2, "0")}.000Z`,
	actor: { type: "user", id: `user-${n}` },
	action: "auth.login.succeeded",
	...extra,
});

const recordedAt = (index: number) => new Date(Date.UTC(2024, 4, 1, 12, 0, index)).toISOString();

describe("canonicalJson", () => {
	it("sorts keys at every depth and drops undefined members", () => {
		expect(canonicalJson({ b: 1, a: { d: [1, { z: true, y: null }], c: "x" }, u: undefined })).toBe('{"a":{"c":"x","d":[1,{"y":null,"z":true}]},"b":1}');
	});

	it("gives equal objects the same text whatever their key order", () => {
		expect(canonicalJson({ x: 1, y: { p: 2, q: 3 } })).toBe(canonicalJson({ y: { q: 3, p: 2 }, x: 1 }));
	});

	it("escapes strings as JSON does and writes non-finite numbers as null", () => {
		expect(canonicalJson({ s: 'quote " and \n', n: Number.NaN })).toBe('{"n":null,"s":"quote \\" and \\n"}');
	});
});

describe("entryHash", () => {
	it("is SHA-256 hex over the previous hash, a newline and the canonical content", () => {
		const [entry] = chainFacts([fact(1)], recordedAt);
		const expected = createHash("sha256")
			.update(`${GENESIS_HASH}\n${canonicalJson(contentOf(entry))}`)
			.digest("hex");
		expect(entry.hash).toBe(expected);
		expect(entry.hash).toMatch(/^[0-9a-f]{64}$/);
		expect(entry.prevHash).toBe("0".repeat(64));
	});

	it("changes when any content field or the previous hash changes", () => {
		const [entry] = chainFacts([fact(1, { data: { ip: "1.2.3.4" }, subject: { type: "user", id: "u1" }, requestId: "r1" })], recordedAt);
		const content = contentOf(entry);
		const base = entryHash(entry.prevHash, content);
		const variants = [
			{ ...content, seq: 2 },
			{ ...content, id: "00000000-0000-4000-8000-000000000009" },
			{ ...content, at: "2024-05-01T10:00:02.000Z" },
			{ ...content, actor: { type: "user" as const, id: "someone-else" } },
			{ ...content, action: "auth.logout" },
			{ ...content, subject: { type: "user", id: "u2" } },
			{ ...content, data: { ip: "1.2.3.5" } },
			{ ...content, requestId: "r2" },
			{ ...content, recordedAt: "2024-05-01T12:00:09.000Z" },
		];
		for (const variant of variants) expect(entryHash(entry.prevHash, variant)).not.toBe(base);
		expect(entryHash("f".repeat(64), content)).not.toBe(base);
	});

	it("treats an absent optional field like null, as the store returns it", () => {
		const [entry] = chainFacts([fact(1)], recordedAt);
		expect(contentOf(entry)).toMatchObject({ subject: null, data: null, requestId: null });
	});
});

describe("chainFacts", () => {
	it("numbers entries from 1 and links each to the previous hash", () => {
		const entries = chainFacts([fact(1), fact(2), fact(3)], recordedAt);
		expect(entries.map(e => e.seq)).toEqual([1, 2, 3]);
		expect(entries[0].prevHash).toBe(GENESIS_HASH);
		expect(entries[1].prevHash).toBe(entries[0].hash);
		expect(entries[2].prevHash).toBe(entries[1].hash);
	});
});

describe("ChainVerifier / verifyChain", () => {
	const good = () =>
		chainFacts(
			[1, 2, 3, 4, 5].map(n => fact(n, { data: { n } })),
			recordedAt,
		);

	it("accepts an intact chain, in batches, and reports its head", async () => {
		const entries = good();
		expect(await verifyChain([entries.slice(0, 2), entries.slice(2)])).toEqual({ ok: true, checked: 5, head: { seq: 5, hash: entries[4].hash } });
	});

	it("accepts an empty chain", async () => {
		expect(await verifyChain([])).toEqual({ ok: true, checked: 0, head: null });
	});

	it("reads async batches", async () => {
		const entries = good();
		async function* batches() {
			yield entries.slice(0, 3);
			yield entries.slice(3);
		}
		expect(await verifyChain(batches())).toMatchObject({ ok: true, checked: 5 });
	});

	it("finds an altered entry as a hash mismatch at its seq", async () => {
		const entries = good();
		entries[2] = { ...entries[2], data: { n: 999 } };
		expect(await verifyChain([entries])).toEqual({ ok: false, checked: 3, firstBroken: { seq: 3, reason: "hash_mismatch" }, lastGood: 2 });
	});

	it("finds an entry whose hash was recomputed after altering it at the next link", async () => {
		const entries = good();
		const altered: AuditEntry = { ...entries[1], action: "auth.logout" };
		altered.hash = entryHash(altered.prevHash, contentOf(altered));
		entries[1] = altered;
		expect(await verifyChain([entries])).toEqual({ ok: false, checked: 3, firstBroken: { seq: 3, reason: "prev_mismatch" }, lastGood: 2 });
	});

	it("finds a removed entry as a gap at the missing seq", async () => {
		const entries = good();
		entries.splice(3, 1);
		expect(await verifyChain([entries])).toEqual({ ok: false, checked: 3, firstBroken: { seq: 4, reason: "gap" }, lastGood: 3 });
	});

	it("finds a swapped pair of entries", async () => {
		const entries = good();
		[entries[0], entries[1]] = [entries[1], entries[0]];
		expect(await verifyChain([entries])).toMatchObject({ ok: false, firstBroken: { seq: 1, reason: "gap" }, lastGood: 0 });
	});

	it("finds a first entry that does not start from the genesis hash", async () => {
		const entries = good();
		entries[0] = { ...entries[0], prevHash: "1".repeat(64) };
		expect(await verifyChain([entries])).toMatchObject({ ok: false, firstBroken: { seq: 1, reason: "prev_mismatch" }, lastGood: 0 });
	});

	it("reports missing entries at the end when told how far the chain reaches", () => {
		const verifier = new ChainVerifier();
		for (const entry of good().slice(0, 4)) verifier.push(entry);
		verifier.expectEnd(5);
		expect(verifier.result()).toEqual({ ok: false, checked: 4, firstBroken: { seq: 5, reason: "gap" }, lastGood: 4 });
	});

	it("keeps the first problem and ignores everything after it", () => {
		const entries = good();
		entries[1] = { ...entries[1], hash: "a".repeat(64) };
		entries[3] = { ...entries[3], data: { n: -1 } };
		const verifier = new ChainVerifier();
		expect(entries.map(e => verifier.push(e))).toEqual([true, false, false, false, false]);
		expect(verifier.result()).toMatchObject({ firstBroken: { seq: 2, reason: "hash_mismatch" } });
	});
});
