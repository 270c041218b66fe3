/**
 * Where admins search the audit log. The SQL log answers searches itself; with OPENSEARCH_URL set,
 * entries are also indexed into OpenSearch, which keeps searching fast on a large log without
 * loading the database that verification and appends rely on. The index is a copy: the SQL log
 * stays the source of truth, an index that missed entries is caught up from it, and the chain is
 * only ever verified against SQL.
 */
import { indexNameFor, OpenSearchIndex, type OpenSearchIndexOptions } from "../../platform/search/opensearch-index";
import type { AuditEntry, AuditSearchParams, AuditSearchResult } from "../../contracts/audit";
import { pageOf, resolveSearch, type AuditLog } from "./audit-log";

export interface AuditSearchIndex {
	readonly kind: "sql" | "opensearch";
	/** Makes entries searchable; indexing the same entry again is harmless. */
	index(entries: readonly AuditEntry[]): Promise<void>;
	/** Newest first (seq desc), keyset-paged with `before`. */
	search(params: AuditSearchParams): Promise<AuditSearchResult>;
}

/** The SQL log searched directly: appending is all the indexing it needs. */
export class SqlAuditSearchIndex implements AuditSearchIndex {
	readonly kind = "sql" as const;

	constructor(private readonly log: AuditLog) {}

	async index(): Promise<void> {}

	search(params: AuditSearchParams): Promise<AuditSearchResult> {
		return this.log.search(params);
	}
}

export const auditIndexName = (namespace: string): string => indexNameFor(namespace, "audit");

/**
 * Keyword fields for exact filters and prefixes, dates for ranges; `data` is stored but not indexed,
 * so whatever details later domains put there cannot blow up the mapping.
 */
export const AUDIT_INDEX_MAPPINGS = {
	dynamic: "strict",
	properties: {
		seq: { type: "long" },
		id: { type: "keyword" },
		at: { type: "date" },
		recordedAt: { type: "date" },
		actor: { properties: { type: { type: "keyword" }, id: { type: "keyword" }, ip: { type: "keyword" } } },
		action: { type: "keyword" },
		subject: { properties: { type: { type: "keyword" }, id: { type: "keyword" } } },
		data: { type: "object", enabled: false },
		requestId: { type: "keyword" },
		prevHash: { type: "keyword", index: false },
		hash: { type: "keyword", index: false },
	},
} as const;

type Hit = { _source: AuditEntry };
type SearchBody = { hits: { hits: Hit[] } };

export class OpenSearchAuditIndex extends OpenSearchIndex implements AuditSearchIndex {
	readonly kind = "opensearch" as const;

	constructor(options: OpenSearchIndexOptions) {
		super(options, "audit", AUDIT_INDEX_MAPPINGS);
	}

	async index(entries: readonly AuditEntry[]): Promise<void> {
		if (!entries.length) return;
		// The seq is the document id, so indexing an entry twice (catch-up, retries) overwrites it.
		await this.bulk(
			entries.flatMap(entry => [{ index: { _index: this.name, _id: String(entry.seq) } }, entry]),
			"audit entries",
		);
	}

	async search(params: AuditSearchParams): Promise<AuditSearchResult> {
		await this.ensure();
		const search = resolveSearch(params);
		const filter: Record<string, unknown>[] = [];
		if (search.actor) filter.push({ term: { "actor.id": search.actor } });
		if (search.actionExact) filter.push({ term: { action: search.actionExact } });
		if (search.actionPrefix) filter.push({ prefix: { action: search.actionPrefix } });
		if (search.subject) filter.push({ term: { "subject.id": search.subject } });
		if (search.from || search.to) filter.push({ range: { at: { ...(search.from ? { gte: search.from } : {}), ...(search.to ? { lt: search.to } : {}) } } });
		if (search.before !== undefined) filter.push({ range: { seq: { lt: search.before } } });
		const response = await this.client.search({
			index: this.name,
			body: { query: { bool: { filter } }, sort: [{ seq: { order: "desc" } }], size: search.limit + 1, track_total_hits: false } as never,
		});
		const hits = (response.body as unknown as SearchBody).hits.hits;
		return pageOf(
			hits.map(hit => hit._source),
			search.limit,
		);
	}

	/** The newest seq in the index (0 when empty): where a catch-up from the SQL log starts. */
	async highestSeq(): Promise<number> {
		await this.ensure();
		const response = await this.client.search({ index: this.name, body: { query: { match_all: {} }, sort: [{ seq: { order: "desc" } }], size: 1, _source: ["seq"] } as never });
		const [hit] = (response.body as unknown as SearchBody).hits.hits;
		return hit ? Number(hit._source.seq) : 0;
	}
}

/**
 * Copies entries after `afterSeq` from the SQL log into the index, in batches, and returns the last
 * seq copied. Used at start-up (from the index's newest seq) and after indexing failed, so the index
 * ends up complete whatever it missed.
 */
export async function catchUpIndex(log: AuditLog, index: AuditSearchIndex, afterSeq: number, batchSize = 500): Promise<number> {
	let last = afterSeq;
	for (;;) {
		const entries = await log.tail(last, batchSize);
		if (!entries.length) return last;
		await index.index(entries);
		last = entries[entries.length - 1].seq;
		if (entries.length < batchSize) return last;
	}
}
