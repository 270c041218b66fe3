import { MemoryStore } from "./memory-store";
import { RedisStore } from "./redis-store";
import type { KeyValueStore } from "./types";
import { redactUrl } from "../config/env";

export * from "./types";
export { MemoryKeyspace, MemoryStore, sharedMemoryKeyspace, type MemoryStoreOptions } from "./memory-store";
export { RedisStore, type RedisStoreOptions } from "./redis-store";

export interface StoreOptions {
	/** undefined, "" or memory:// for the in-process store; redis:// or rediss:// for Redis. */
	url?: string;
	/** Put before every key, index and set name; default "lootopia:". */
	keyPrefix?: string;
	/** Redis only: reconnection errors, for logging (the store keeps reconnecting by itself). */
	onConnectionError?: (error: Error) => void;
}

export function createStore(options: StoreOptions = {}): KeyValueStore {
	const { url, keyPrefix = "lootopia:", onConnectionError } = options;
	if (!url || url === "memory://") return new MemoryStore({ keyPrefix });
	if (/^rediss?:\/\//i.test(url)) return new RedisStore({ url, keyPrefix, onConnectionError });
	throw new Error(`Unsupported store URL "${redactUrl(url)}": use memory:// (or nothing) for the in-process store, redis:// or rediss:// for Redis`);
}
