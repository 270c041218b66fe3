/**
 * Finding hunts by text in OpenSearch, when OPENSEARCH_URL is set: the text, the tags and the
 * distance from a point answered by one query, so a text search near a busy city neither reads
 * every hunt around it from SQL nor ranks them there. Without it, PostgreSQL's full-text search
 * answers (HuntStore.searchListed), with the same rules:
 * - `q` in the same syntax: words (all of them), "phrases", -exclusions, `or` between alternatives;
 *   the title weighs more than the description, which weighs more than the tags;
 * - every tag must be carried;
 * - near a point: nearest first, with the distance; otherwise best match first, then newest.
 *
 * The index holds listed hunts only and is a copy: the hunts table is the truth. The hunts service
 * keeps it by following its own hunts.changed channel, reconciles it at start, and reads each hit
 * back from SQL, so a hunt the index still holds after it was hidden is never shown.
 */
import { Client } from "@opensearch-project/opensearch";

export interface HuntDocument {
	id: string;
	title: string;
	description: string;
	tags: string[];
	area: { lat: number; lon: number };
	publishedAt: string;
}

export interface HuntTextQuery {
	q?: string;
	tags: readonly string[];
	near?: { lat: number; lon: number; radiusM: number };
}

export interface HuntTextHit {
	huntId: string;
	/** Only near a point. */
	distanceM?: number;
}

/** OpenSearch refuses pages beyond this (index.max_result_window); deeper pages are empty. */
export const DEEPEST_RESULT = 10_000;

/**
 * Titles, descriptions and tags analysed like PostgreSQL's 'simple' configuration (lower-cased
 * words, no stemming, no stop words); tags also as keywords for exact filters. Strict, so a field
 * nobody declared is refused instead of guessed.
 */
export const HUNT_INDEX_MAPPINGS = {
	dynamic: "strict",
	properties: {
		id: { type: "keyword" },
		title: { type: "text", analyzer: "standard" },
		description: { type: "text", analyzer: "standard" },
		tags: { type: "keyword", fields: { text: { type: "text", analyzer: "standard" } } },
		location: { type: "geo_point" },
		publishedAt: { type: "date" },
	},
} as const;

/** OpenSearch index names are lower-case and exclude a few characters; the namespace may not be. */
export function huntIndexName(namespace: string): string {
	const safe = namespace
		.toLowerCase()
		.replace(/[^a-z0-9_-]+/g, "-")
		.replace(/^[-_]+/, "");
	return `${safe || "lootopia"}-hunts`;
}

/**
 * PostgreSQL's websearch syntax in simple_query_string's: `or` between words becomes `|`; quotes
 * and a leading `-` mean the same in both. Every other operator simple_query_string knows (prefix
 * `*`, fuzzy `~`, slop, precedence) is switched off by the flags, so a player's text is only ever
 * words, phrases, exclusions and alternatives, and never a syntax error.
 */
export function simpleQueryOf(q: string): string {
	return q.replace(/(^|\s)or(?=\s)/gi, "$1|");
}
const QUERY_FLAGS = "OR|NOT|PHRASE|WHITESPACE";

export interface OpenSearchHuntIndexOptions {
	url?: string;
	client?: Client;
	namespace: string;
	/** Refresh the index after each write, so it is searchable at once: for tests, not production load. */
	refreshOnWrite?: boolean;
}

type SearchBody = { hits: { hits: Array<{ _id: string; sort?: unknown[] }> } };

export class OpenSearchHuntIndex {
	readonly indexName: string;
	private readonly client: Client;
	private readonly ownsClient: boolean;
	private ready: Promise<void> | undefined;

	constructor(private readonly options: OpenSearchHuntIndexOptions) {
		if (!options.client && !options.url) throw new Error("OpenSearchHuntIndex needs a url or a client");
		this.client = options.client ?? new Client({ node: options.url! });
		this.ownsClient = !options.client;
		this.indexName = huntIndexName(options.namespace);
	}

	/** Creates the index with its mapping unless it exists; a failed attempt is retried on next use. */
	ensureIndex(): Promise<void> {
		this.ready ??= (async () => {
			const exists = await this.client.indices.exists({ index: this.indexName });
			if (exists.body) return;
			try {
				await this.client.indices.create({ index: this.indexName, body: { mappings: HUNT_INDEX_MAPPINGS } as never });
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

	/**
	 * Indexes the hunts, replacing what the index held for them. `searchable` waits until searches
	 * see them (the next refresh, within a second) rather than only until they are stored.
	 */
	async put(hunts: readonly HuntDocument[], { searchable = false } = {}): Promise<void> {
		if (!hunts.length) return;
		await this.ensureIndex();
		const body = hunts.flatMap(hunt => [
			{ index: { _index: this.indexName, _id: hunt.id } },
			{ id: hunt.id, title: hunt.title, description: hunt.description, tags: hunt.tags, location: { lat: hunt.area.lat, lon: hunt.area.lon }, publishedAt: hunt.publishedAt },
		]);
		await this.bulk(body, "index", searchable);
	}

	/** Drops the hunts from the index; one it does not hold is no error. */
	async remove(ids: readonly string[], { searchable = false } = {}): Promise<void> {
		if (!ids.length) return;
		await this.ensureIndex();
		await this.bulk(
			ids.map(id => ({ delete: { _index: this.indexName, _id: id } })),
			"delete",
			searchable,
		);
	}

	/** The page of hits from `offset`, in the order described at the top of this file. */
	async search(query: HuntTextQuery, offset: number, limit: number): Promise<HuntTextHit[]> {
		if (offset >= DEEPEST_RESULT) return [];
		await this.ensureIndex();
		const filter: Record<string, unknown>[] = query.tags.map(tag => ({ term: { tags: tag } }));
		if (query.near) filter.push({ geo_distance: { distance: `${query.near.radiusM}m`, distance_type: "arc", location: { lat: query.near.lat, lon: query.near.lon } } });
		const must = query.q ? [{ simple_query_string: { query: simpleQueryOf(query.q), fields: ["title^3", "description^2", "tags.text"], default_operator: "and", flags: QUERY_FLAGS } }] : [];
		const sort = query.near
			? [{ _geo_distance: { location: { lat: query.near.lat, lon: query.near.lon }, order: "asc", unit: "m", distance_type: "arc" } }, { id: "asc" }]
			: [...(query.q ? ["_score"] : []), { publishedAt: "desc" }, { id: "asc" }];
		const response = await this.client.search({
			index: this.indexName,
			body: { query: { bool: { must, filter } }, sort, from: offset, size: Math.min(limit, DEEPEST_RESULT - offset), _source: false, track_total_hits: false } as never,
		});
		return (response.body as unknown as SearchBody).hits.hits.map(hit => ({
			huntId: hit._id,
			...(query.near ? { distanceM: Math.round(Number(hit.sort![0]) * 10) / 10 } : {}),
		}));
	}

	/** Every id the index holds, a page at a time, in id order: for reconciling it with the hunts table. */
	async *ids(pageSize = 1000): AsyncGenerator<string[]> {
		await this.ensureIndex();
		let after: unknown[] | undefined;
		for (;;) {
			const response = await this.client.search({
				index: this.indexName,
				body: { query: { match_all: {} }, sort: [{ id: "asc" }], size: pageSize, _source: false, ...(after ? { search_after: after } : {}) } as never,
			});
			const hits = (response.body as unknown as SearchBody).hits.hits;
			if (hits.length) yield hits.map(hit => hit._id);
			if (hits.length < pageSize) return;
			after = hits[hits.length - 1].sort;
		}
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

	private async bulk(body: unknown[], action: "index" | "delete", searchable: boolean): Promise<void> {
		const response = await this.client.bulk({ body: body as never, refresh: this.options.refreshOnWrite ? true : searchable ? "wait_for" : false });
		const result = response.body as { errors?: boolean; items?: Array<Record<string, { status?: number; error?: { reason?: string } }>> };
		if (!result.errors) return;
		// Deleting what is not there answers 404: already the wanted outcome.
		const failures = (result.items ?? []).map(item => item[action]).filter(item => item?.error && !(action === "delete" && item.status === 404));
		if (failures.length)
			throw new Error(
				`OpenSearch refused ${failures.length} hunt ${action}s: ${failures
					.slice(0, 3)
					.map(item => item!.error!.reason)
					.join("; ")}`,
			);
	}
}
