/**
 * The audit log in SQL: the source of truth for who did what. Entries are only ever appended, each
 * chained to the previous one by a hash (chain.ts), so an entry altered, removed or reordered behind
 * the application's back is found by `verify`. Appends are serialised on a single head row locked
 * for the transaction, so consumers on several nodes never fork the chain, and a fact id already in
 * the log is not recorded again (channels deliver at least once). A trigger refuses UPDATE, DELETE
 * and TRUNCATE on the entries, so only someone able to change the table's definition (the database
 * owner) can tamper with them — and the chain makes that visible.
 */
import { UUID_PATTERN } from "../../contracts/identity";
import type { Migration, SqlClient, SqlExecutor } from "../../platform/sql";
import type { AuditActor, AuditAnchor, AuditEntry, AuditFact, AuditSearchParams, AuditSearchResult, AuditSubject, AuditVerifyResult } from "../../contracts/audit";
import { ChainVerifier, chainEntry, GENESIS_HASH, type ChainHead } from "./chain";

export const AUDIT_MIGRATIONS: readonly Migration[] = [
	{
		version: 1,
		name: "hash-chained audit entries",
		up: `
			create table entries (
				seq bigint primary key,
				id text not null unique,
				at timestamptz not null,
				actor jsonb not null,
				actor_id text generated always as (actor ->> 'id') stored,
				action text not null,
				subject jsonb,
				subject_id text generated always as (subject ->> 'id') stored,
				data jsonb,
				request_id text,
				recorded_at timestamptz not null,
				prev_hash text not null,
				hash text not null
			);
			create index entries_actor on entries (actor_id, seq);
			create index entries_action on entries (action text_pattern_ops);
			create index entries_subject on entries (subject_id, seq);
			create index entries_at on entries (at);

			-- One row: the newest entry. Locking it serialises appends across connections and nodes.
			create table head (
				singleton boolean primary key default true check (singleton),
				seq bigint not null,
				hash text not null
			);
			insert into head (singleton, seq, hash) values (true, 0, '${GENESIS_HASH}');

			create function reject_entry_change() returns trigger language plpgsql as $$
			begin
				raise exception 'audit entries are append-only (% refused)', tg_op using errcode = '42501';
			end
			$$;
			create trigger entries_append_only before update or delete on entries for each row execute function reject_entry_change();
			create trigger entries_no_truncate before truncate on entries for each statement execute function reject_entry_change();
		`,
	},
];

export const SEARCH_DEFAULT_LIMIT = 50;
export const SEARCH_MAX_LIMIT = 200;

/** A payload on the audit channel that is not a fact; retrying it cannot help. */
export class InvalidAuditFactError extends Error {
	constructor(readonly problems: string[]) {
		super(`Invalid audit fact: ${problems.join("; ")}`);
		this.name = "InvalidAuditFactError";
	}
}

const ACTION = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/;
const ACTOR_TYPES = new Set(["user", "service", "anonymous", "operator"]);
const MAX_FACT_BYTES = 16 * 1024;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const shortString = (value: unknown, max = 200): value is string => typeof value === "string" && value.length > 0 && value.length <= max;

/** An ISO time as the database gives it back (milliseconds, UTC), or undefined when unusable. */
function isoTime(value: unknown): string | undefined {
	if (typeof value !== "string") return undefined;
	const ms = Date.parse(value);
	if (!Number.isFinite(ms)) return undefined;
	const iso = new Date(ms).toISOString();
	// Years outside 0000–9999 print with a sign and do not round-trip through timestamptz the same way.
	return /^\d{4}-/.test(iso) ? iso : undefined;
}

/**
 * Checks a channel payload and puts it in the form the chain hashes: what the database returns when
 * the entry is read back (lower-case id, UTC milliseconds, data through JSON), so `verify` recomputes
 * the same hash from the stored row.
 */
export function normaliseFact(payload: unknown): AuditFact {
	const problems: string[] = [];
	if (!isRecord(payload)) throw new InvalidAuditFactError(["not an object"]);
	const serialised = JSON.stringify(payload);
	if (serialised.length > MAX_FACT_BYTES) problems.push(`larger than ${MAX_FACT_BYTES} bytes`);
	// PostgreSQL text and jsonb cannot hold NUL characters.
	if (serialised.includes("\\u0000")) problems.push("contains a NUL character");

	if (typeof payload.id !== "string" || !UUID_PATTERN.test(payload.id)) problems.push("id must be a UUID");
	const at = isoTime(payload.at);
	if (!at) problems.push("at must be an ISO-8601 time");
	if (!shortString(payload.action, 100) || !ACTION.test(payload.action)) problems.push("action must look like <domain>.<fact>");

	let actor: AuditActor | undefined;
	if (!isRecord(payload.actor) || !ACTOR_TYPES.has(String(payload.actor.type))) problems.push("actor.type must be user, service, anonymous or operator");
	else {
		const { type, id, ip } = payload.actor;
		if (id !== undefined && !shortString(id)) problems.push("actor.id must be a non-empty string");
		if (ip !== undefined && !shortString(ip, 64)) problems.push("actor.ip must be a short string");
		actor = { type: type as AuditActor["type"], ...(id !== undefined ? { id: id as string } : {}), ...(ip !== undefined ? { ip: ip as string } : {}) };
	}

	let subject: AuditSubject | undefined;
	if (payload.subject !== undefined && payload.subject !== null) {
		if (!isRecord(payload.subject) || !shortString(payload.subject.type, 64) || !shortString(payload.subject.id)) problems.push("subject must have a type and an id");
		else subject = { type: payload.subject.type as string, id: payload.subject.id as string };
	}

	let data: Record<string, unknown> | undefined;
	if (payload.data !== undefined && payload.data !== null) {
		if (!isRecord(payload.data)) problems.push("data must be an object");
		else data = JSON.parse(JSON.stringify(payload.data)) as Record<string, unknown>;
	}

	const requestId = payload.requestId;
	if (requestId !== undefined && requestId !== null && !shortString(requestId)) problems.push("requestId must be a short string");

	if (problems.length) throw new InvalidAuditFactError(problems);
	return {
		id: (payload.id as string).toLowerCase(),
		at: at!,
		actor: actor!,
		action: payload.action as string,
		...(subject ? { subject } : {}),
		...(data ? { data } : {}),
		...(typeof requestId === "string" ? { requestId } : {}),
	};
}

/** Search parameters with defaults applied and the action split into an exact name or a prefix. */
export interface ResolvedSearch {
	actor?: string;
	actionExact?: string;
	/** `auth.` or `auth.*` asks for every action of a domain. */
	actionPrefix?: string;
	subject?: string;
	/** Inclusive. */
	from?: string;
	/** Exclusive. */
	to?: string;
	before?: number;
	limit: number;
}

export function resolveSearch(params: AuditSearchParams): ResolvedSearch {
	const limit = Math.min(SEARCH_MAX_LIMIT, Math.max(1, Math.floor(params.limit ?? SEARCH_DEFAULT_LIMIT)));
	const resolved: ResolvedSearch = { limit };
	if (params.actor) resolved.actor = params.actor;
	if (params.subject) resolved.subject = params.subject;
	if (params.action) {
		const action = params.action.endsWith(".*") ? params.action.slice(0, -1) : params.action;
		if (action.endsWith(".")) resolved.actionPrefix = action;
		else resolved.actionExact = action;
	}
	if (params.from) resolved.from = isoTime(params.from) ?? params.from;
	if (params.to) resolved.to = isoTime(params.to) ?? params.to;
	if (params.before !== undefined) resolved.before = params.before;
	return resolved;
}

/** Newest first; one more row than asked tells whether another page exists. */
export function pageOf(entries: AuditEntry[], limit: number): AuditSearchResult {
	if (entries.length <= limit) return { entries };
	const page = entries.slice(0, limit);
	return { entries: page, nextBefore: page[page.length - 1].seq };
}

type EntryRow = {
	seq: number;
	id: string;
	at: Date;
	actor: AuditActor;
	action: string;
	subject: AuditSubject | null;
	data: Record<string, unknown> | null;
	request_id: string | null;
	recorded_at: Date;
	prev_hash: string;
	hash: string;
};

const ENTRY_COLUMNS = "seq, id, at, actor, action, subject, data, request_id, recorded_at, prev_hash, hash";

function toEntry(row: EntryRow): AuditEntry {
	return {
		seq: Number(row.seq),
		id: row.id,
		at: row.at.toISOString(),
		actor: row.actor,
		action: row.action,
		...(row.subject !== null ? { subject: row.subject } : {}),
		...(row.data !== null ? { data: row.data } : {}),
		...(row.request_id !== null ? { requestId: row.request_id } : {}),
		recordedAt: row.recorded_at.toISOString(),
		prevHash: row.prev_hash,
		hash: row.hash,
	};
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, ch => `\\${ch}`);

export interface AppendResult {
	entry: AuditEntry;
	/** True when the fact id was already in the log: nothing was written. */
	duplicate: boolean;
}

export class AuditLog {
	private readonly entries: string;
	private readonly head: string;

	/** `schema`: where AUDIT_MIGRATIONS ran (the service's own schema). */
	constructor(
		private readonly db: SqlClient,
		schema: string,
		private readonly now: () => Date = () => new Date(),
	) {
		this.entries = `"${schema}".entries`;
		this.head = `"${schema}".head`;
	}

	/** Records a fact once; throws InvalidAuditFactError for a payload that is not a fact. */
	async append(payload: AuditFact | unknown): Promise<AppendResult> {
		const fact = normaliseFact(payload);
		return this.db.transaction(async tx => {
			const head = (await tx.query<{ seq: number; hash: string }>(`select seq, hash from ${this.head} for update`)).rows[0];
			if (!head) throw new Error(`${this.head} has no row; the audit migrations did not run`);
			const existing = await this.byId(tx, fact.id);
			if (existing) return { entry: existing, duplicate: true };
			const previous: ChainHead | null = Number(head.seq) > 0 ? { seq: Number(head.seq), hash: head.hash } : null;
			const entry = chainEntry(previous, fact, this.now().toISOString());
			await tx.query(
				`insert into ${this.entries} (seq, id, at, actor, action, subject, data, request_id, recorded_at, prev_hash, hash)
				values ($1, $2, $3, $4::text::jsonb, $5, $6::text::jsonb, $7::text::jsonb, $8, $9, $10, $11)`,
				[
					entry.seq,
					entry.id,
					entry.at,
					JSON.stringify(entry.actor),
					entry.action,
					entry.subject ? JSON.stringify(entry.subject) : null,
					entry.data ? JSON.stringify(entry.data) : null,
					entry.requestId ?? null,
					entry.recordedAt,
					entry.prevHash,
					entry.hash,
				],
			);
			await tx.query(`update ${this.head} set seq = $1, hash = $2`, [entry.seq, entry.hash]);
			return { entry, duplicate: false };
		});
	}

	private async byId(executor: SqlExecutor, id: string): Promise<AuditEntry | undefined> {
		const { rows } = await executor.query<EntryRow>(`select ${ENTRY_COLUMNS} from ${this.entries} where id = $1`, [id]);
		return rows[0] ? toEntry(rows[0]) : undefined;
	}

	get(id: string): Promise<AuditEntry | undefined> {
		return this.byId(this.db, id.toLowerCase());
	}

	/** The newest entry's position and hash; null for an empty log. */
	async headOf(): Promise<ChainHead | null> {
		const { rows } = await this.db.query<{ seq: number; hash: string }>(`select seq, hash from ${this.head}`);
		const seq = Number(rows[0]?.seq ?? 0);
		return seq > 0 ? { seq, hash: rows[0].hash } : null;
	}

	/** Newest first, keyset-paged on seq (stable while new entries arrive). */
	async search(params: AuditSearchParams): Promise<AuditSearchResult> {
		const search = resolveSearch(params);
		const where: string[] = [];
		const values: unknown[] = [];
		const bind = (value: unknown) => {
			values.push(value);
			return `$${values.length}`;
		};
		if (search.actor) where.push(`actor_id = ${bind(search.actor)}`);
		if (search.actionExact) where.push(`action = ${bind(search.actionExact)}`);
		if (search.actionPrefix) where.push(`action like ${bind(`${escapeLike(search.actionPrefix)}%`)} escape '\\'`);
		if (search.subject) where.push(`subject_id = ${bind(search.subject)}`);
		if (search.from) where.push(`at >= ${bind(search.from)}::timestamptz`);
		if (search.to) where.push(`at < ${bind(search.to)}::timestamptz`);
		if (search.before !== undefined) where.push(`seq < ${bind(search.before)}`);
		const { rows } = await this.db.query<EntryRow>(
			`select ${ENTRY_COLUMNS} from ${this.entries} ${where.length ? `where ${where.join(" and ")}` : ""} order by seq desc limit ${bind(search.limit + 1)}`,
			values,
		);
		return pageOf(rows.map(toEntry), search.limit);
	}

	/** Entries after `afterSeq`, oldest first: for followers and for catching a search index up. */
	async tail(afterSeq: number, limit = 100): Promise<AuditEntry[]> {
		const { rows } = await this.db.query<EntryRow>(`select ${ENTRY_COLUMNS} from ${this.entries} where seq > $1 order by seq limit $2`, [afterSeq, limit]);
		return rows.map(toEntry);
	}

	/**
	 * Walks the whole chain in batches of `batchSize`, up to the head as it was when verification
	 * began (later appends are left for the next run). Entries missing at the end of the chain show
	 * as a gap, since the head row still remembers how far it reached.
	 */
	/**
	 * The chain checked against itself and, given an anchor (a head recorded outside the database),
	 * against that too: a chain rewritten wholesale with every hash recomputed verifies on its own
	 * but no longer has the anchor's hash at its seq.
	 */
	async verifyAgainst(anchor: AuditAnchor | undefined): Promise<AuditVerifyResult> {
		const result = await this.verify();
		if (!result.ok || !anchor) return result;
		const [entry] = await this.tail(anchor.anchorSeq - 1, 1);
		if (entry?.seq === anchor.anchorSeq && entry.hash === anchor.anchorHash) return result;
		return { ok: false, checked: result.checked, firstBroken: { seq: anchor.anchorSeq, reason: "anchor_mismatch" }, lastGood: 0 };
	}

	async verify(batchSize = 1000): Promise<AuditVerifyResult> {
		const head = await this.headOf();
		const headSeq = head?.seq ?? 0;
		const verifier = new ChainVerifier();
		for (;;) {
			const { rows } = await this.db.query<EntryRow>(`select ${ENTRY_COLUMNS} from ${this.entries} where seq > $1 and seq <= $2 order by seq limit $3`, [verifier.lastSeq, headSeq, batchSize]);
			for (const row of rows) if (!verifier.push(toEntry(row))) return verifier.result();
			if (rows.length < batchSize) break;
		}
		verifier.expectEnd(headSeq);
		return verifier.result();
	}
}
