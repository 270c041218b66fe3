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
import { indexNameFor, OpenSearchIndex, type OpenSearchIndexOptions } from "../../platform/search/opensearch-index";
import type { ListedHunt } from "./hunt-store";

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

export const huntIndexName = (namespace: string): string => indexNameFor(namespace, "hunts");

/**
 * PostgreSQL's websearch syntax in simple_query_string's: `or` between words becomes `|`; quotes
 * and a leading `-` mean the same in both. Every other operator simple_query_string knows (prefix
 * `*`, fuzzy `~`, slop, precedence) is switched off by the flags, so a player's text is only ever
 * words, phrases, exclusions and alternatives, and never a syntax error.
 */
export function simpleQueryOf(q: string): string {
	// Split at the quotes: the even parts are outside phrases, where `or` is an operator; inside, a word.
	return q
		.split('"')
		.map((part, i) => (i % 2 === 0 ? part.replace(/(^|\s)or(?=\s)/gi, "$1|") : part))
		.join('"');
}
const QUERY_FLAGS = "OR|NOT|PHRASE|WHITESPACE";

type SearchBody = { hits: { hits: Array<{ _id: string; sort?: unknown[] }> } };

export class OpenSearchHuntIndex extends OpenSearchIndex {
	constructor(options: OpenSearchIndexOptions) {
		super(options, "hunts", HUNT_INDEX_MAPPINGS);
	}

	/**
	 * Indexes the hunts, replacing what the index held for them. `searchable` waits until searches
	 * see them (the next refresh, within a second) rather than only until they are stored.
	 */
	async put(hunts: readonly ListedHunt[], { searchable = false } = {}): Promise<void> {
		if (!hunts.length) return;
		const body = hunts.flatMap(hunt => [
			{ index: { _index: this.name, _id: hunt.id } },
			{ id: hunt.id, title: hunt.title, description: hunt.description, tags: hunt.tags, location: { lat: hunt.area.lat, lon: hunt.area.lon }, publishedAt: hunt.publishedAt },
		]);
		await this.bulk(body, "hunts", { searchable });
	}

	/** Drops the hunts from the index; one it does not hold is no error. */
	async remove(ids: readonly string[], { searchable = false } = {}): Promise<void> {
		if (!ids.length) return;
		await this.bulk(
			ids.map(id => ({ delete: { _index: this.name, _id: id } })),
			"hunt removals",
			{ searchable },
		);
	}

	/** The page of hits from `offset`, in the order described at the top of this file. */
	async search(query: HuntTextQuery, offset: number, limit: number): Promise<HuntTextHit[]> {
		if (offset >= DEEPEST_RESULT) return [];
		await this.ensure();
		const filter: Record<string, unknown>[] = query.tags.map(tag => ({ term: { tags: tag } }));
		if (query.near) filter.push({ geo_distance: { distance: `${query.near.radiusM}m`, distance_type: "arc", location: { lat: query.near.lat, lon: query.near.lon } } });
		const must = query.q ? [{ simple_query_string: { query: simpleQueryOf(query.q), fields: ["title^3", "description^2", "tags.text"], default_operator: "and", flags: QUERY_FLAGS } }] : [];
		const sort = query.near
			? [{ _geo_distance: { location: { lat: query.near.lat, lon: query.near.lon }, order: "asc", unit: "m", distance_type: "arc" } }, { id: "asc" }]
			: [...(query.q ? ["_score"] : []), { publishedAt: "desc" }, { id: "asc" }];
		const response = await this.client.search({
			index: this.name,
			body: { query: { bool: { must, filter } }, sort, from: offset, size: Math.min(limit, DEEPEST_RESULT - offset), _source: false, track_total_hits: false } as never,
		});
		return (response.body as unknown as SearchBody).hits.hits.map(hit => ({
			huntId: hit._id,
			...(query.near ? { distanceM: Math.round(Number(hit.sort![0]) * 10) / 10 } : {}),
		}));
	}

	/** Every id the index holds, a page at a time, in id order: for reconciling it with the hunts table. */
	async *ids(pageSize = 1000): AsyncGenerator<string[]> {
		await this.ensure();
		let after: unknown[] | undefined;
		for (;;) {
			const response = await this.client.search({
				index: this.name,
				body: { query: { match_all: {} }, sort: [{ id: "asc" }], size: pageSize, _source: false, ...(after ? { search_after: after } : {}) } as never,
			});
			const hits = (response.body as unknown as SearchBody).hits.hits;
			if (hits.length) yield hits.map(hit => hit._id);
			if (hits.length < pageSize) return;
			after = hits[hits.length - 1].sort;
		}
	}
}
