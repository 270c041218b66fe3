/**
 * Answers that many players ask for alike (a published hunt's public view, a search) kept in the
 * broker's cacher (memory, or Redis shared by every node with CACHE_URL) under one service's
 * prefix, with hit and miss counts for the bench. Whoever changes what an entry shows cleans it:
 * on every node, through a broadcast event, since a memory cacher is each node's own; the TTL bounds
 * how stale an entry can get should a broadcast be missed.
 */
import type { ServiceBroker } from "moleculer";

export interface CacheStats {
	hits: number;
	misses: number;
}

export class ViewCache {
	private hits = 0;
	private misses = 0;

	constructor(
		private readonly broker: ServiceBroker,
		private readonly prefix: string,
	) {}

	async get<T>(key: string): Promise<T | undefined> {
		const found = (await this.broker.cacher?.get(`${this.prefix}:${key}`)) as T | null | undefined;
		if (found === null || found === undefined) {
			this.misses++;
			return undefined;
		}
		this.hits++;
		return found;
	}

	async set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
		await this.broker.cacher?.set(`${this.prefix}:${key}`, value, ttlSeconds);
	}

	/** `pattern`: a key or a glob (`search:*`). */
	async clean(pattern: string): Promise<void> {
		await this.broker.cacher?.clean(`${this.prefix}:${pattern}`);
	}

	stats(): CacheStats {
		return { hits: this.hits, misses: this.misses };
	}
}
