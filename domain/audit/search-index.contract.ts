/**
 * What the audit search must answer whichever index is behind it (the SQL log itself, or
 * OpenSearch), as jest tests. search-index.spec.ts runs it against each. The fixture and every
 * expected answer are written out by hand, never derived from the index under test.
 */
import type { AuditEntry, AuditFact, AuditSearchParams } from "../../contracts/audit";
import type { AuditSearchIndex } from "./search-index";

export interface SearchIndexContractSetup {
	index: AuditSearchIndex;
	/** Records facts the way production does for this index; returns the chained entries in order. */
	load(facts: readonly AuditFact[]): Promise<AuditEntry[]>;
	dispose(): Promise<void>;
}

const ALICE = "11111111-1111-4111-8111-111111111111";
const BOB = "22222222-2222-4222-8222-222222222222";
const PARTNER = "33333333-3333-4333-8333-333333333333";

/** Seq n (1-based) happens at minute n of the day, so time ranges select known seqs. */
const at = (seq: number) => `2024-06-01T09:${String(seq).padStart(2, "0")}:00.000Z`;
const id = (seq: number) => `aaaaaaaa-0000-4000-8000-${String(seq).padStart(12, "0")}`;

const ROWS: Array<[actor: string | undefined, action: string, subject: string | undefined]> = [
	/* 1 */ [ALICE, "auth.registered", ALICE],
	/* 2 */ [ALICE, "auth.login.succeeded", ALICE],
	/* 3 */ [undefined, "auth.login.failed", BOB],
	/* 4 */ [BOB, "auth.login.succeeded", BOB],
	/* 5 */ [BOB, "partners.created", PARTNER],
	/* 6 */ ["operator-jane", "partners.verified", PARTNER],
	/* 7 */ [ALICE, "authority.granted", ALICE],
	/* 8 */ [BOB, "partners.member.added", PARTNER],
	/* 9 */ [undefined, "auth.login.failed", ALICE],
	/* 10 */ [ALICE, "users.deleted", ALICE],
	/* 11 */ [BOB, "user_.renamed", BOB],
	/* 12 */ [ALICE, "auth.logout", ALICE],
];

export const CONTRACT_FACTS: AuditFact[] = ROWS.map(([actor, action, subject], index) => {
	const seq = index + 1;
	return {
		id: id(seq),
		at: at(seq),
		actor: actor === undefined ? { type: "anonymous", ip: "198.51.100.1" } : actor.startsWith("operator-") ? { type: "operator", id: actor } : { type: "user", id: actor, ip: "203.0.113.9" },
		action,
		...(subject ? { subject: { type: action.startsWith("partners.") ? "partner" : "user", id: subject } } : {}),
		data: { seq, note: `fact ${seq}` },
		requestId: `req-${seq}`,
	};
});

const seqsOf = (entries: AuditEntry[]) => entries.map(e => e.seq);

export function auditSearchIndexContract(name: string, open: () => Promise<SearchIndexContractSetup>): void {
	describe(`audit search index contract: ${name}`, () => {
		let setup: SearchIndexContractSetup;
		let loaded: AuditEntry[];

		beforeAll(async () => {
			setup = await open();
			loaded = await setup.load(CONTRACT_FACTS);
		});
		afterAll(() => setup?.dispose());

		const search = (params: AuditSearchParams) => setup.index.search(params);

		it("returns everything newest first, as stored", async () => {
			const result = await search({});
			expect(seqsOf(result.entries)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
			expect(result.nextBefore).toBeUndefined();
			expect(result.entries[11]).toEqual(loaded[0]);
			expect(result.entries[0]).toMatchObject({ id: id(12), action: "auth.logout", data: { seq: 12, note: "fact 12" }, requestId: "req-12", actor: { type: "user", id: ALICE } });
		});

		it("filters by actor id", async () => {
			expect(seqsOf((await search({ actor: ALICE })).entries)).toEqual([12, 10, 7, 2, 1]);
			expect(seqsOf((await search({ actor: "operator-jane" })).entries)).toEqual([6]);
			expect(seqsOf((await search({ actor: "nobody" })).entries)).toEqual([]);
		});

		it("filters by exact action", async () => {
			expect(seqsOf((await search({ action: "auth.login.failed" })).entries)).toEqual([9, 3]);
			expect(seqsOf((await search({ action: "auth.login" })).entries)).toEqual([]);
		});

		it("filters by action prefix, written `auth.` or `auth.*`, without matching other domains", async () => {
			expect(seqsOf((await search({ action: "auth." })).entries)).toEqual([12, 9, 4, 3, 2, 1]);
			expect(seqsOf((await search({ action: "auth.*" })).entries)).toEqual([12, 9, 4, 3, 2, 1]);
			expect(seqsOf((await search({ action: "auth.login." })).entries)).toEqual([9, 4, 3, 2]);
			expect(seqsOf((await search({ action: "partners." })).entries)).toEqual([8, 6, 5]);
		});

		it("takes a prefix literally (no wildcards)", async () => {
			expect(seqsOf((await search({ action: "user_." })).entries)).toEqual([11]);
			expect(seqsOf((await search({ action: "users." })).entries)).toEqual([10]);
		});

		it("filters by subject id", async () => {
			expect(seqsOf((await search({ subject: PARTNER })).entries)).toEqual([8, 6, 5]);
			expect(seqsOf((await search({ subject: BOB })).entries)).toEqual([11, 4, 3]);
		});

		it("filters by time, from inclusive and to exclusive, in any ISO offset", async () => {
			expect(seqsOf((await search({ from: at(4), to: at(7) })).entries)).toEqual([6, 5, 4]);
			expect(seqsOf((await search({ from: at(11) })).entries)).toEqual([12, 11]);
			expect(seqsOf((await search({ to: at(3) })).entries)).toEqual([2, 1]);
			expect(seqsOf((await search({ from: "2024-06-01T11:05:00+02:00", to: "2024-06-01T11:07:00+02:00" })).entries)).toEqual([6, 5]);
		});

		it("combines filters", async () => {
			expect(seqsOf((await search({ actor: ALICE, action: "auth.", from: at(2) })).entries)).toEqual([12, 2]);
			expect(seqsOf((await search({ subject: ALICE, action: "auth.login.failed" })).entries)).toEqual([9]);
		});

		it("pages newest first with before/nextBefore", async () => {
			const first = await search({ limit: 5 });
			expect(seqsOf(first.entries)).toEqual([12, 11, 10, 9, 8]);
			expect(first.nextBefore).toBe(8);
			const second = await search({ limit: 5, before: first.nextBefore });
			expect(seqsOf(second.entries)).toEqual([7, 6, 5, 4, 3]);
			expect(second.nextBefore).toBe(3);
			const last = await search({ limit: 5, before: second.nextBefore });
			expect(seqsOf(last.entries)).toEqual([2, 1]);
			expect(last.nextBefore).toBeUndefined();
			const filtered = await search({ actor: ALICE, limit: 2, before: 12 });
			expect(seqsOf(filtered.entries)).toEqual([10, 7]);
			expect(filtered.nextBefore).toBe(7);
		});

		it("ends exactly at a full last page without a further cursor", async () => {
			const page = await search({ action: "partners.", limit: 3 });
			expect(seqsOf(page.entries)).toEqual([8, 6, 5]);
			expect(page.nextBefore).toBeUndefined();
		});

		it("tolerates indexing entries again", async () => {
			await setup.index.index(loaded.slice(0, 3));
			expect(seqsOf((await search({})).entries)).toHaveLength(12);
		});
	});
}
