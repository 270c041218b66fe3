/**
 * Where admins search the audit log. The SQL log answers searches itself; with OPENSEARCH_URL set,
 * entries are also indexed into OpenSearch, which keeps searching fast on a large log without
 * loading the database that verification and appends rely on. The index is a copy: the SQL log
 * stays the source of truth, an index that missed entries is caught up from it, and the chain is
 * only ever verified against SQL.
 */
import { Client } from "@opensearch-project/opensearch";
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

/** OpenSearch index names are lower-case and exclude a few characters; the namespace may not be. */
export function auditIndexName(namespace: string): string {
	const safe = namespace
		.toLowerCase()
		.replace(/[^a-z0-9_-]+/g, "-")
		.replace(/^[-_]+/, "");
	return `${safe || "lootopia"}-audit`;
}

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

export interface OpenSearchAuditIndexOptions {
	/** http(s)://host:9200, credentials in the URL if any. */
	url?: string;
	/** An existing client (tests, or a node sharing one). */
	client?: Client;
	namespace: string;
	/** Refresh after each bulk so the entries are searchable at once; for tests, not production load. */
	refreshOnIndex?: boolean;
}

type Hit = { _source: AuditEntry };
type SearchBody = { hits: { hits: Hit[] } };

export class OpenSearchAuditIndex implements AuditSearchIndex {
	readonly kind = "opensearch" as const;
	readonly indexName: string;
	private readonly client: Client;
	private readonly ownsClient: boolean;
	private ready: Promise<void> | undefined;

	constructor(private readonly options: OpenSearchAuditIndexOptions) {
		if (!options.client && !options.url) throw new Error("OpenSearchAuditIndex needs a url or a client");
		this.client = options.client ?? new Client({ node: options.url! });
		this.ownsClient = !options.client;
		this.indexName = auditIndexName(options.namespace);
	}

	/** Creates the index with its mapping unless it exists; a failed attempt is retried on next use. */
	ensureIndex(): Promise<void> {
		this.ready ??= (async () => {
			const exists = await this.client.indices.exists({ index: this.indexName });
			if (exists.body) return;
			try {
				await this.client.indices.create({ index: this.indexName, body: { mappings: AUDIT_INDEX_MAPPINGS } as never });
			} catch (err) {
				// Another node created it in between.
				if (!/resource_already_exists_exception/.test(String((err as { message?: string }).message))) throw err;
			}
		})().catch(err => {
			this.ready = undefined;
			throw err;
		});
		return this.ready;
	}

	async index(entries: readonly AuditEntry[]): Promise<void> {
		if (!entries.length) return;
		await this.ensureIndex();
		// The seq is the document id, so indexing an entry twice (catch-up, retries) overwrites it.
		const body = entries.flatMap(entry => [{ index: { _index: this.indexName, _id: String(entry.seq) } }, entry]);
		const response = await this.client.bulk({ body, refresh: this.options.refreshOnIndex ? "wait_for" : false });
		const result = response.body as { errors?: boolean; items?: Array<Record<string, { error?: { reason?: string } }>> };
		if (result.errors) {
			const reasons = (result.items ?? []).map(item => Object.values(item)[0]?.error?.reason).filter(Boolean);
			throw new Error(`OpenSearch refused ${reasons.length} audit entries: ${reasons.slice(0, 3).join("; ")}`);
		}
	}

	async search(params: AuditSearchParams): Promise<AuditSearchResult> {
		await this.ensureIndex();
		const search = resolveSearch(params);
		const filter: Record<string, unknown>[] = [];
		if (search.actor) filter.push({ term: { "actor.id": search.actor } });
		if (search.actionExact) filter.push({ term: { action: search.actionExact } });
		if (search.actionPrefix) filter.push({ prefix: { action: search.actionPrefix } });
		if (search.subject) filter.push({ term: { "subject.id": search.subject } });
		if (search.from || search.to) filter.push({ range: { at: { ...(search.from ? { gte: search.from } : {}), ...(search.to ? { lt: search.to } : {}) } } });
		if (search.before !== undefined) filter.push({ range: { seq: { lt: search.before } } });
		const response = await this.client.search({
			index: this.indexName,
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
		await this.ensureIndex();
		const response = await this.client.search({ index: this.indexName, body: { query: { match_all: {} }, sort: [{ seq: { order: "desc" } }], size: 1, _source: ["seq"] } as never });
		const [hit] = (response.body as unknown as SearchBody).hits.hits;
		return hit ? Number(hit._source.seq) : 0;
	}

	async refresh(): Promise<void> {
		await this.client.indices.refresh({ index: this.indexName });
	}

	/** For tests, which use an index of their own. */
	async deleteIndex(): Promise<void> {
		this.ready = undefined;
		await this.client.indices.delete({ index: this.indexName, ignore_unavailable: true });
	}

	async close(): Promise<void> {
		if (this.ownsClient) await this.client.close();
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
