/**
 * The key-value store every service sees, whichever engine is behind it: an in-process keyspace by
 * default, Redis when a URL is configured. It carries the small, hot, shared state that does not
 * belong in SQL: geo indexes of hunts and clues, live leaderboards, rate-limit counters and
 * short-lived keys (login throttling, idempotency). Both implementations run the one contract suite
 * in store.contract.ts, so a service behaves the same on either.
 *
 * The model is Redis's: one keyspace of names, each holding one kind of value (a string, a sorted
 * set or a geo index). Using a name as another kind rejects with `StoreError` code "WRONG_KIND",
 * except that overwriting with `set` always wins. (Redis keeps a geo index as a sorted set and lets
 * z* commands read it; the memory store refuses that, so do not use one name as both.) Sorted sets
 * and geo indexes vanish when their last member is removed. Every store applies its `keyPrefix` to
 * every name, so stores with the same prefix share data (also in memory, within one process) and
 * stores with different prefixes never see each other.
 */

export interface SetOptions {
	/** Expire the key after this many milliseconds (a positive integer). Without it, any previous expiry is cleared. */
	ttlMs?: number;
	/** Write only when the key does not exist; `set` then resolves false if it did. */
	onlyIfAbsent?: boolean;
}

export interface IncrOptions {
	/** A safe integer, may be negative; default 1. */
	by?: number;
	/**
	 * Expiry applied only when this call creates the key, so repeated calls count inside one
	 * fixed window instead of pushing its end further away.
	 */
	ttlMs?: number;
}

export interface GeoPoint {
	lat: number;
	lon: number;
}

export interface GeoSearchQuery extends GeoPoint {
	/** Members at a distance ≤ radiusM from the point are returned. */
	radiusM: number;
	/** At most this many (a positive integer), the nearest ones. */
	limit?: number;
}

export interface GeoHit extends GeoPoint {
	member: string;
	distanceM: number;
}

export interface ScoredMember {
	member: string;
	score: number;
}

export interface RankOptions {
	/** Highest score first; equal scores then come in reverse member order (Redis ZREVRANGE). */
	descending?: boolean;
}

export interface KeyValueStore {
	get(key: string): Promise<string | null>;
	/** Resolves false only when `onlyIfAbsent` is set and the key exists. */
	set(key: string, value: string, opts?: SetOptions): Promise<boolean>;
	/**
	 * Compare-and-set: writes `value` only when the key holds exactly `expected`, atomically; resolves
	 * whether it did. Lets writers that read, decide and write back never overwrite a change made in
	 * between (they read again instead). The expiry is `ttlMs`, or none.
	 */
	replace(key: string, expected: string, value: string, opts?: { ttlMs?: number }): Promise<boolean>;
	/** Deletes keys of any kind; resolves how many existed. */
	del(...keys: string[]): Promise<number>;
	/** Adds to an integer counter (absent counts as 0) atomically; resolves the new value. */
	incr(key: string, opts?: IncrOptions): Promise<number>;
	/** Milliseconds left before the key expires; null when it does not exist or has no expiry. */
	ttl(key: string): Promise<number | null>;

	/** Adds or moves a member; resolves true when it was new. */
	geoAdd(index: string, member: string, position: GeoPoint): Promise<boolean>;
	/** Resolves true when the member was there. */
	geoRemove(index: string, member: string): Promise<boolean>;
	/**
	 * Members within the radius, nearest first. Positions come back as stored, which in Redis is
	 * within about a metre of what was added (52-bit geohash). Equal distances come in no set order.
	 */
	geoSearch(index: string, query: GeoSearchQuery): Promise<GeoHit[]>;
	geoPosition(index: string, member: string): Promise<GeoPoint | null>;

	/** Adds a member or sets its score; resolves true when it was new. Scores are finite numbers. */
	zAdd(set: string, member: string, score: number): Promise<boolean>;
	/** Adds delta to the member's score (absent counts as 0); resolves the new score. */
	zIncrBy(set: string, member: string, delta: number): Promise<number>;
	zScore(set: string, member: string): Promise<number | null>;
	/** Resolves true when the member was there. */
	zRem(set: string, member: string): Promise<boolean>;
	zCard(set: string): Promise<number>;
	/**
	 * Members ranked `start` to `stop` inclusive, 0-based; negative ranks count from the end (-1 is
	 * the last), as in Redis ZRANGE. Ordered by score, equal scores by member bytes (UTF-8).
	 */
	zRangeByRank(set: string, start: number, stop: number, opts?: RankOptions): Promise<ScoredMember[]>;
	/** 0-based position in the same order as zRangeByRank; null when absent. */
	zRank(set: string, member: string, opts?: RankOptions): Promise<number | null>;

	/** Rejects when the engine cannot be reached (or the store is closed); used by readiness probes. */
	ping(): Promise<void>;
	/**
	 * Releases the connection or timer once calls already made have finished; later calls reject.
	 * The data stays for other stores (it is shared). Idempotent.
	 */
	close(): Promise<void>;
}

export type StoreErrorCode =
	/** The name holds another kind of value (Redis WRONGTYPE). */
	| "WRONG_KIND"
	/** `incr` on a value that is not a decimal integer, or a result out of range. */
	| "NOT_AN_INTEGER";

export class StoreError extends Error {
	constructor(
		readonly code: StoreErrorCode,
		message: string,
		options?: ErrorOptions,
	) {
		super(message, options);
		this.name = "StoreError";
	}
}

export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
	return err instanceof StoreError && (code === undefined || err.code === code);
}

// Argument rules shared by both implementations. Checking them before any I/O means a bad call
// fails the same way (RangeError) on both, rather than as whichever error Redis happens to return.

/** Redis GEO refuses latitudes beyond ±85.05112878° (the Web Mercator square); memory does too. */
export const GEO_MAX_LATITUDE = 85.05112878;

export function checkTtlMs(ttlMs: number | undefined): void {
	if (ttlMs !== undefined && !(Number.isSafeInteger(ttlMs) && ttlMs > 0)) {
		throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}`);
	}
}

export function checkIncrement(by: number): void {
	if (!Number.isSafeInteger(by)) throw new RangeError(`incr by must be a safe integer, got ${by}`);
}

export function checkScore(score: number, what = "score"): void {
	if (!Number.isFinite(score)) throw new RangeError(`${what} must be a finite number, got ${score}`);
}

export function checkGeoPoint(point: GeoPoint): void {
	const { lat, lon } = point;
	if (!(Number.isFinite(lat) && Math.abs(lat) <= GEO_MAX_LATITUDE && Number.isFinite(lon) && Math.abs(lon) <= 180)) {
		throw new RangeError(`position out of range: lat ${lat} (±${GEO_MAX_LATITUDE}), lon ${lon} (±180)`);
	}
}

export function checkGeoSearch(query: GeoSearchQuery): void {
	checkGeoPoint(query);
	if (!(Number.isFinite(query.radiusM) && query.radiusM >= 0)) throw new RangeError(`radiusM must be a finite number ≥ 0, got ${query.radiusM}`);
	if (query.limit !== undefined && !(Number.isSafeInteger(query.limit) && query.limit > 0)) {
		throw new RangeError(`limit must be a positive integer, got ${query.limit}`);
	}
}

export function checkRank(rank: number, what: string): void {
	if (!Number.isSafeInteger(rank)) throw new RangeError(`${what} must be an integer, got ${rank}`);
}
