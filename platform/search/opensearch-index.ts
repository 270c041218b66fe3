/**
 * One OpenSearch index a domain keeps a copy of its data in (the audit log, the hunts): its name
 * from the namespace, created with its mapping on first use, written in checked bulks. What goes in
 * and how it is searched stay with the domain.
 */
import { Client } from "@opensearch-project/opensearch";

export interface OpenSearchIndexOptions {
	/** http(s)://host:9200, credentials in the URL if any. */
	url?: string;
	/** An existing client (tests, or a node sharing one). */
	client?: Client;
	namespace: string;
	/** Refresh after each write so it is searchable at once: for tests, not production load. */
	refreshOnWrite?: boolean;
}

/** OpenSearch index names are lower-case and exclude a few characters; the namespace may not be. */
export function indexNameFor(namespace: string, suffix: string): string {
	const safe = namespace
		.toLowerCase()
		.replace(/[^a-z0-9_-]+/g, "-")
		.replace(/^[-_]+/, "");
	return `${safe || "lootopia"}-${suffix}`;
}

type BulkItem = { status?: number; error?: { reason?: string } };

export class OpenSearchIndex {
	readonly name: string;
	readonly client: Client;
	private readonly ownsClient: boolean;
	private ready: Promise<void> | undefined;

	constructor(
		private readonly options: OpenSearchIndexOptions,
		suffix: string,
		private readonly mappings: object,
	) {
		if (!options.client && !options.url) throw new Error(`The OpenSearch ${suffix} index needs a url or a client`);
		this.client = options.client ?? new Client({ node: options.url! });
		this.ownsClient = !options.client;
		this.name = indexNameFor(options.namespace, suffix);
	}

	/** Creates the index with its mapping unless it exists; a failed attempt is retried on next use. */
	ensure(): Promise<void> {
		this.ready ??= (async () => {
			const exists = await this.client.indices.exists({ index: this.name });
			if (exists.body) return;
			try {
				await this.client.indices.create({ index: this.name, body: { mappings: this.mappings } as never });
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
	 * Writes a bulk body and throws with the reasons of any item refused. `searchable` waits until
	 * searches see the writes (the next refresh, within a second); a delete of what is not there (404)
	 * is the wanted outcome, not a refusal.
	 */
	async bulk(body: unknown[], what: string, { searchable = false } = {}): Promise<void> {
		await this.ensure();
		const response = await this.client.bulk({ body: body as never, refresh: this.options.refreshOnWrite ? true : searchable ? "wait_for" : false });
		const result = response.body as { errors?: boolean; items?: Array<Record<string, BulkItem>> };
		if (!result.errors) return;
		const refused = (result.items ?? []).flatMap(item => Object.entries(item)).filter(([action, outcome]) => outcome.error && !(action === "delete" && outcome.status === 404));
		if (refused.length)
			throw new Error(
				`OpenSearch refused ${refused.length} ${what}: ${refused
					.slice(0, 3)
					.map(([, outcome]) => outcome.error!.reason)
					.join("; ")}`,
			);
	}

	async refresh(): Promise<void> {
		await this.client.indices.refresh({ index: this.name });
	}

	/** For tests, which use an index of their own. */
	async drop(): Promise<void> {
		this.ready = undefined;
		await this.client.indices.delete({ index: this.name, ignore_unavailable: true });
	}

	async close(): Promise<void> {
		if (this.ownsClient) await this.client.close();
	}
}
