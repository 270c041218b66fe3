/**
 * The hash chain behind the audit log, as pure functions so the store, the search index and the
 * tests agree on one definition. Each entry's hash covers the previous entry's hash and its own
 * content in a canonical form, so changing, removing or reordering a stored entry breaks the chain
 * at that entry, and the verifier can name the first place where it breaks. The content must be
 * exactly what the store gives back when it reads an entry, which is why facts are normalised
 * (ISO times in milliseconds, lower-case ids, JSON-safe data) before they are hashed.
 */
import { createHash } from "node:crypto";
import type { AuditActor, AuditEntry, AuditFact, AuditSubject, AuditVerifyResult } from "../../contracts/audit";

/** The previous hash of the first entry. */
export const GENESIS_HASH = "0".repeat(64);

/** What the hash covers: every field of an entry except the hashes themselves. */
export interface EntryContent {
	seq: number;
	id: string;
	at: string;
	actor: AuditActor;
	action: string;
	subject: AuditSubject | null;
	data: Record<string, unknown> | null;
	requestId: string | null;
	recordedAt: string;
}

export type ChainHead = { seq: number; hash: string };

/**
 * JSON with object keys sorted at every depth and undefined members left out, so two equal values
 * serialise to the same bytes whichever order a driver or jsonb returned their keys in.
 */
export function canonicalJson(value: unknown): string {
	if (value === null || value === undefined) return "null";
	if (Array.isArray(value)) return `[${value.map(item => (item === undefined ? "null" : canonicalJson(item))).join(",")}]`;
	if (typeof value === "object") {
		const record = value as Record<string, unknown>;
		const members = Object.keys(record)
			.filter(key => record[key] !== undefined)
			.sort()
			.map(key => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
		return `{${members.join(",")}}`;
	}
	if (typeof value === "number" && !Number.isFinite(value)) return "null";
	if (typeof value === "bigint") return value.toString();
	return JSON.stringify(value);
}

/** Absent optional fields become null, so an entry and its stored copy have the same content. */
export function contentOf(entry: Omit<AuditEntry, "prevHash" | "hash">): EntryContent {
	return {
		seq: entry.seq,
		id: entry.id,
		at: entry.at,
		actor: entry.actor,
		action: entry.action,
		subject: entry.subject ?? null,
		data: entry.data ?? null,
		requestId: entry.requestId ?? null,
		recordedAt: entry.recordedAt,
	};
}

/** SHA-256 (hex) over the previous hash and the canonical content, with a separator no hash contains. */
export function entryHash(prevHash: string, content: EntryContent): string {
	return createHash("sha256").update(prevHash).update("\n").update(canonicalJson(content)).digest("hex");
}

/** The entry that follows `head` (null: the chain is empty) for an already normalised fact. */
export function chainEntry(head: ChainHead | null, fact: AuditFact, recordedAt: string): AuditEntry {
	const prevHash = head?.hash ?? GENESIS_HASH;
	const seq = (head?.seq ?? 0) + 1;
	const entry: Omit<AuditEntry, "prevHash" | "hash"> = {
		seq,
		id: fact.id,
		at: fact.at,
		actor: fact.actor,
		action: fact.action,
		...(fact.subject ? { subject: fact.subject } : {}),
		...(fact.data ? { data: fact.data } : {}),
		...(fact.requestId ? { requestId: fact.requestId } : {}),
		recordedAt,
	};
	return { ...entry, prevHash, hash: entryHash(prevHash, contentOf(entry)) };
}

/** Chains facts in memory, e.g. to fill a search index in tests or to compute expected hashes. */
export function chainFacts(facts: readonly AuditFact[], recordedAt: (index: number) => string, head: ChainHead | null = null): AuditEntry[] {
	const entries: AuditEntry[] = [];
	let previous = head;
	facts.forEach((fact, index) => {
		const entry = chainEntry(previous, fact, recordedAt(index));
		entries.push(entry);
		previous = { seq: entry.seq, hash: entry.hash };
	});
	return entries;
}

export type BrokenLink = { seq: number; reason: "hash_mismatch" | "prev_mismatch" | "gap" };

/**
 * Walks entries in seq order, one batch at a time, so a long chain is verified without loading it
 * whole. The first problem found is final: later entries are not looked at. Checks, in order: the
 * seq follows the previous one (a missing entry is a gap at the first missing seq), the entry points
 * at the previous entry's hash, and its own hash matches its content.
 */
export class ChainVerifier {
	private last: ChainHead | null = null;
	private checkedCount = 0;
	private brokenLink: BrokenLink | undefined;

	/** Starts after a known-good head, e.g. to verify only what was appended since. */
	constructor(start: ChainHead | null = null) {
		this.last = start;
	}

	get broken(): BrokenLink | undefined {
		return this.brokenLink;
	}

	/** The seq after which entries are expected next. */
	get lastSeq(): number {
		return this.last?.seq ?? 0;
	}

	/** False once the chain is broken (this entry or an earlier one). */
	push(entry: AuditEntry): boolean {
		if (this.brokenLink) return false;
		const expectedSeq = this.lastSeq + 1;
		const expectedPrev = this.last?.hash ?? GENESIS_HASH;
		if (entry.seq !== expectedSeq) {
			this.brokenLink = { seq: expectedSeq, reason: "gap" };
			return false;
		}
		this.checkedCount++;
		if (entry.prevHash !== expectedPrev) {
			this.brokenLink = { seq: entry.seq, reason: "prev_mismatch" };
			return false;
		}
		if (entryHash(entry.prevHash, contentOf(entry)) !== entry.hash) {
			this.brokenLink = { seq: entry.seq, reason: "hash_mismatch" };
			return false;
		}
		this.last = { seq: entry.seq, hash: entry.hash };
		return true;
	}

	/** Reports a gap at the next seq when the chain should reach further than what was pushed. */
	expectEnd(headSeq: number): void {
		if (!this.brokenLink && headSeq > this.lastSeq) this.brokenLink = { seq: this.lastSeq + 1, reason: "gap" };
	}

	/** `checked`: entries examined, the broken one included. */
	result(): AuditVerifyResult {
		if (this.brokenLink) return { ok: false, checked: this.checkedCount, firstBroken: this.brokenLink, lastGood: this.brokenLink.seq - 1 };
		return { ok: true, checked: this.checkedCount, head: this.last ? { ...this.last } : null };
	}
}

/** Verifies a chain given as batches (any iterable or async iterable of entry arrays). */
export async function verifyChain(batches: Iterable<readonly AuditEntry[]> | AsyncIterable<readonly AuditEntry[]>): Promise<AuditVerifyResult> {
	const verifier = new ChainVerifier();
	for await (const batch of batches) {
		for (const entry of batch) if (!verifier.push(entry)) return verifier.result();
	}
	return verifier.result();
}
