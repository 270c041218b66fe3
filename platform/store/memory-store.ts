/**
 * The embedded store: no server, one process. It copies the Redis semantics the contract pins down
 * (ordering of ties, range arithmetic, TTL rules, errors), so a service tested here behaves the same
 * once STORE_URL points at Redis.
 */
import { redisGeoCell } from "./geohash";
import {
	checkGeoPoint,
	checkGeoSearch,
	checkIncrement,
	checkRank,
	checkScore,
	checkTtlMs,
	GeoHit,
	GeoPoint,
	GeoSearchQuery,
	IncrOptions,
	KeyValueStore,
	RankOptions,
	ScoredMember,
	SetOptions,
	StoreError,
} from "./types";

// ---------------------------------------------------------------------------------------------
// Sorted sets

/**
 * Orders strings by their UTF-8 bytes, as Redis compares members. JavaScript's `<` compares UTF-16
 * code units, which puts characters above U+FFFF (surrogate pairs, e.g. emoji) before U+E000–U+FFFF;
 * UTF-8 puts them after. Shifting the two ranges past each other fixes that without encoding.
 */
export function compareUtf8(a: string, b: string): number {
	if (a === b) return 0;
	const common = Math.min(a.length, b.length);
	for (let i = 0; i < common; i++) {
		let x = a.charCodeAt(i);
		let y = b.charCodeAt(i);
		if (x === y) continue;
		if (x >= 0xd800 && y >= 0xd800) {
			x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
			y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
		}
		return x < y ? -1 : 1;
	}
	return a.length < b.length ? -1 : 1;
}

function compareScored(score: number, member: string, other: ScoredMember): number {
	if (score !== other.score) return score < other.score ? -1 : 1;
	return compareUtf8(member, other.member);
}

/**
 * A sorted array (by score, then member) plus a score map. Rank and range queries are binary
 * searches and slices; an insert or removal shifts the array (a memmove), which stays well under a
 * millisecond for leaderboards of a hundred thousand players.
 */
class SortedSet {
	private readonly scores = new Map<string, number>();
	private readonly ordered: ScoredMember[] = [];

	get size(): number {
		return this.ordered.length;
	}

	score(member: string): number | null {
		return this.scores.get(member) ?? null;
	}

	/** Resolves true when the member is new. */
	put(member: string, score: number): boolean {
		const previous = this.scores.get(member);
		if (previous !== undefined) {
			if (previous === score) return false;
			this.ordered.splice(this.lowerBound(previous, member), 1);
		}
		this.scores.set(member, score);
		this.ordered.splice(this.lowerBound(score, member), 0, { member, score });
		return previous === undefined;
	}

	remove(member: string): boolean {
		const score = this.scores.get(member);
		if (score === undefined) return false;
		this.scores.delete(member);
		this.ordered.splice(this.lowerBound(score, member), 1);
		return true;
	}

	rank(member: string): number | null {
		const score = this.scores.get(member);
		return score === undefined ? null : this.lowerBound(score, member);
	}

	/** Copies, so callers cannot reorder the set by mutating a result. */
	slice(from: number, toInclusive: number): ScoredMember[] {
		return this.ordered.slice(from, toInclusive + 1).map(({ member, score }) => ({ member, score }));
	}

	/** First index whose entry is not before (score, member). */
	private lowerBound(score: number, member: string): number {
		let low = 0;
		let high = this.ordered.length;
		while (low < high) {
			const mid = (low + high) >>> 1;
			if (compareScored(score, member, this.ordered[mid]) > 0) low = mid + 1;
			else high = mid;
		}
		return low;
	}
}

// ---------------------------------------------------------------------------------------------
// Geo

/** Redis's own Earth radius (geohash_helper.c), so both stores measure the same distances. */
export const EARTH_RADIUS_M = 6372797.560856;

const RAD = Math.PI / 180;

/** Great-circle distance, with the same formula and operation order Redis uses (geohashGetDistance). */
export function haversineM(a: GeoPoint, b: GeoPoint): number {
	const lon1r = a.lon * RAD;
	const lon2r = b.lon * RAD;
	const v = Math.sin((lon2r - lon1r) / 2);
	// Redis's shortcut for one meridian.
	if (v === 0) return EARTH_RADIUS_M * Math.abs(b.lat * RAD - a.lat * RAD);
	const lat1r = a.lat * RAD;
	const lat2r = b.lat * RAD;
	const u = Math.sin((lat2r - lat1r) / 2);
	return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(u * u + Math.cos(lat1r) * Math.cos(lat2r) * v * v));
}

/**
 * Grid buckets of CELL_DEG × CELL_DEG. 0.01° (about 1.1 km north–south) keeps a city's cell to a
 * few dozen hunts even where hunts are dense, so "the 20 nearest" reads a few cells around the
 * point; a wide search without a limit visits more cells, each a map lookup.
 */
const CELL_DEG = 0.01;
const LAT_CELLS = Math.ceil(180 / CELL_DEG);
const LON_CELLS = Math.round(360 / CELL_DEG);
/** Widens search boxes past floating-point rounding at cell edges (1e-9° is about 0.1 mm). */
const EDGE_PAD_DEG = 1e-9;

function latCell(lat: number): number {
	return Math.min(LAT_CELLS - 1, Math.max(0, Math.floor((lat + 90) / CELL_DEG)));
}

/** Unwrapped: may fall outside 0..LON_CELLS-1 for longitudes past ±180 (search boxes), see wrapLonCell. */
function lonCellUnwrapped(lon: number): number {
	return Math.floor((lon + 180) / CELL_DEG);
}

function wrapLonCell(cell: number): number {
	return ((cell % LON_CELLS) + LON_CELLS) % LON_CELLS;
}

function cellId(latIndex: number, lonIndex: number): number {
	return latIndex * LON_CELLS + lonIndex;
}

/** The cells (lon unwrapped) of a box that holds a whole search circle. */
interface CellBox {
	latFrom: number;
	latTo: number;
	lonFrom: number;
	lonTo: number;
}

interface Placed extends GeoPoint {
	cell: number;
}

function byDistanceThenMember(a: GeoHit, b: GeoHit): number {
	return a.distanceM - b.distanceM || compareUtf8(a.member, b.member);
}

class GeoIndex {
	private readonly placed = new Map<string, Placed>();
	/** Each cell's members with their places, read in one pass by a search. */
	private readonly cells = new Map<number, Map<string, Placed>>();

	get size(): number {
		return this.placed.size;
	}

	put(member: string, position: GeoPoint): boolean {
		const isNew = this.remove(member) === false;
		const { lat, lon } = redisGeoCell(position);
		const cell = cellId(latCell(lat), wrapLonCell(lonCellUnwrapped(lon)));
		const placed = { lat, lon, cell };
		this.placed.set(member, placed);
		let bucket = this.cells.get(cell);
		if (!bucket) this.cells.set(cell, (bucket = new Map()));
		bucket.set(member, placed);
		return isNew;
	}

	remove(member: string): boolean {
		const current = this.placed.get(member);
		if (!current) return false;
		this.placed.delete(member);
		const bucket = this.cells.get(current.cell);
		bucket?.delete(member);
		if (bucket?.size === 0) this.cells.delete(current.cell);
		return true;
	}

	position(member: string): GeoPoint | null {
		const current = this.placed.get(member);
		return current ? { lat: current.lat, lon: current.lon } : null;
	}

	search(query: GeoSearchQuery): GeoHit[] {
		const box = this.boxCovering(query);
		if (box !== "all" && query.limit !== undefined) return this.nearest(query, box, query.limit);
		const hits: GeoHit[] = [];
		if (box === "all") this.consider(query, this.placed, hits);
		else for (const cell of cellsOf(box)) this.consider(query, this.cells.get(cell), hits);
		hits.sort(byDistanceThenMember);
		return query.limit === undefined ? hits : hits.slice(0, query.limit);
	}

	/**
	 * The `limit` nearest, reading the cells ring by ring outwards from the point's own, and
	 * stopping once no cell of the next ring can hold anything nearer than the limit-th hit found:
	 * the answer of reading the whole box, from a few cells.
	 */
	private nearest(query: GeoSearchQuery, box: CellBox, limit: number): GeoHit[] {
		const centreLat = latCell(query.lat);
		const centreLon = lonCellUnwrapped(query.lon);
		// How far the point is from its own cell's nearer edges, in degrees.
		const latInCell = query.lat + 90 - centreLat * CELL_DEG;
		const lonInCell = query.lon + 180 - centreLon * CELL_DEG;
		const latEdge = Math.max(0, Math.min(latInCell, CELL_DEG - latInCell));
		const lonEdge = Math.max(0, Math.min(lonInCell, CELL_DEG - lonInCell));
		const rings = Math.max(centreLat - box.latFrom, box.latTo - centreLat, centreLon - box.lonFrom, box.lonTo - centreLon);
		let hits: GeoHit[] = [];
		for (let ring = 0; ring <= rings; ring++) {
			if (ring > 0 && hits.length >= limit) {
				hits.sort(byDistanceThenMember);
				hits = hits.slice(0, limit);
				if (ringLowerBoundM(query.lat, ring, latEdge, lonEdge) > hits[limit - 1].distanceM) return hits;
			}
			for (const [latIndex, lonIndex] of ringCells(centreLat, centreLon, ring)) {
				if (latIndex < box.latFrom || latIndex > box.latTo || lonIndex < box.lonFrom || lonIndex > box.lonTo) continue;
				this.consider(query, this.cells.get(cellId(latIndex, wrapLonCell(lonIndex))), hits);
			}
		}
		hits.sort(byDistanceThenMember);
		return hits.slice(0, limit);
	}

	private consider(query: GeoSearchQuery, entries: Iterable<[string, Placed]> | undefined, hits: GeoHit[]): void {
		if (!entries) return;
		for (const [member, at] of entries) {
			const distanceM = haversineM(query, at);
			if (distanceM <= query.radiusM) hits.push({ member, distanceM, lat: at.lat, lon: at.lon });
		}
	}

	/**
	 * The cells of a box that holds the whole search circle, or "all" when scanning every member is
	 * cheaper than visiting that many cells (small indexes, huge radii), the box goes round the
	 * earth, or the circle covers a pole.
	 */
	private boxCovering({ lat, lon, radiusM }: GeoSearchQuery): CellBox | "all" {
		const angular = radiusM / EARTH_RADIUS_M;
		const latSpanDeg = angular / RAD + EDGE_PAD_DEG;
		if (Math.abs(lat) + latSpanDeg >= 90) return "all";
		// Exact longitude half-width of a spherical cap (Matuschek), valid because no pole is inside.
		const lonSpanDeg = Math.asin(Math.sin(angular) / Math.cos(lat * RAD)) / RAD + EDGE_PAD_DEG;
		const box = { latFrom: latCell(lat - latSpanDeg), latTo: latCell(lat + latSpanDeg), lonFrom: lonCellUnwrapped(lon - lonSpanDeg), lonTo: lonCellUnwrapped(lon + lonSpanDeg) };
		if (box.lonTo - box.lonFrom + 1 >= LON_CELLS) return "all";
		if ((box.latTo - box.latFrom + 1) * (box.lonTo - box.lonFrom + 1) >= this.placed.size) return "all";
		return box;
	}
}

function* cellsOf(box: CellBox): Generator<number> {
	for (let latIndex = box.latFrom; latIndex <= box.latTo; latIndex++) {
		for (let lonIndex = box.lonFrom; lonIndex <= box.lonTo; lonIndex++) yield cellId(latIndex, wrapLonCell(lonIndex));
	}
}

/** The cells exactly `ring` cells away (in the larger of the two directions) from the centre's. */
function* ringCells(centreLat: number, centreLon: number, ring: number): Generator<[number, number]> {
	if (ring === 0) {
		yield [centreLat, centreLon];
		return;
	}
	for (let lonIndex = centreLon - ring; lonIndex <= centreLon + ring; lonIndex++) {
		yield [centreLat - ring, lonIndex];
		yield [centreLat + ring, lonIndex];
	}
	for (let latIndex = centreLat - ring + 1; latIndex <= centreLat + ring - 1; latIndex++) {
		yield [latIndex, centreLon - ring];
		yield [latIndex, centreLon + ring];
	}
}

/**
 * No point in a cell `ring` cells away is nearer than this. Such a cell is `ring` cells away in
 * latitude or in longitude. By haversine, hav(d) = hav(Δφ) + cos φ1 cos φ2 hav(Δλ), so d ≥ R·Δφ, and
 * d ≥ 2R·asin(cos φmax · sin(Δλ/2)) where φmax bounds both latitudes; the smaller of the two bounds
 * holds for the whole ring. Shaved by a billionth against rounding, so a tie is never cut off.
 */
function ringLowerBoundM(lat: number, ring: number, latEdgeDeg: number, lonEdgeDeg: number): number {
	const latGapRad = ((ring - 1) * CELL_DEG + latEdgeDeg) * RAD;
	const lonGapRad = ((ring - 1) * CELL_DEG + lonEdgeDeg) * RAD;
	const poleward = (Math.abs(lat) + (ring + 1) * CELL_DEG) * RAD;
	const byLat = EARTH_RADIUS_M * latGapRad;
	const byLon = poleward >= Math.PI / 2 ? 0 : 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.cos(poleward) * Math.sin(lonGapRad / 2)));
	return Math.min(byLat, byLon) * (1 - 1e-9);
}

// ---------------------------------------------------------------------------------------------
// Keyspace

type Entry = { expiresAt?: number } & ({ kind: "string"; value: string } | { kind: "zset"; set: SortedSet } | { kind: "geo"; index: GeoIndex });
type Kind = Entry["kind"];
type EntryOf<K extends Kind> = Extract<Entry, { kind: K }>;

const KIND_NAMES: Record<Kind, string> = { string: "a string", zset: "a sorted set", geo: "a geo index" };

/**
 * The data behind memory stores, the way a Redis server is the data behind Redis stores: stores
 * are handles onto a keyspace and their prefixes partition it. Expired keys go lazily when touched
 * and in a periodic sweep, which runs only while a store is open and never holds the process open.
 */
export class MemoryKeyspace {
	private readonly entries = new Map<string, Entry>();
	/** Names that carry an expiry, so the sweep does not walk leaderboards and geo indexes. */
	private readonly expiring = new Set<string>();
	private sweepTimer: NodeJS.Timeout | undefined;
	private openStores = 0;

	constructor(readonly sweepIntervalMs = 1000) {}

	/** Entries held, counting expired ones not yet swept (for diagnostics and tests). */
	get size(): number {
		return this.entries.size;
	}

	read(name: string, now: number): Entry | undefined {
		const entry = this.entries.get(name);
		if (entry?.expiresAt !== undefined && entry.expiresAt <= now) {
			this.delete(name);
			return undefined;
		}
		return entry;
	}

	write(name: string, entry: Entry): void {
		this.entries.set(name, entry);
		if (entry.expiresAt === undefined) this.expiring.delete(name);
		else this.expiring.add(name);
	}

	delete(name: string): boolean {
		this.expiring.delete(name);
		return this.entries.delete(name);
	}

	/** Drops every expired entry; resolves how many. */
	sweep(now = Date.now()): number {
		let dropped = 0;
		for (const name of this.expiring) {
			const expiresAt = this.entries.get(name)?.expiresAt;
			if (expiresAt === undefined) this.expiring.delete(name);
			else if (expiresAt <= now) dropped += Number(this.delete(name));
		}
		return dropped;
	}

	clear(): void {
		this.entries.clear();
		this.expiring.clear();
	}

	attach(): void {
		if (this.openStores++ === 0) {
			this.sweepTimer = setInterval(() => this.sweep(), this.sweepIntervalMs);
			this.sweepTimer.unref();
		}
	}

	detach(): void {
		if (--this.openStores === 0) {
			clearInterval(this.sweepTimer);
			this.sweepTimer = undefined;
		}
	}
}

let processKeyspace: MemoryKeyspace | undefined;

/** One per process, so services that share a prefix share data as they would through one Redis. */
export function sharedMemoryKeyspace(): MemoryKeyspace {
	return (processKeyspace ??= new MemoryKeyspace());
}

/** Redis accepts only plain decimal integers for INCRBY: no sign "+", no spaces, no leading zeros. */
const REDIS_INTEGER = /^(0|-?[1-9][0-9]*)$/;

// ---------------------------------------------------------------------------------------------
// Store

export interface MemoryStoreOptions {
	keyPrefix?: string;
	/** Defaults to the process-wide keyspace; pass a new one for data no other store sees. */
	keyspace?: MemoryKeyspace;
}

/**
 * No method awaits anything: each one reads and writes the keyspace in one synchronous step, so
 * every call is atomic, as a single Redis command is, however many callers run concurrently.
 */
export class MemoryStore implements KeyValueStore {
	readonly keyPrefix: string;
	private keyspace: MemoryKeyspace | undefined;

	constructor(options: MemoryStoreOptions = {}) {
		this.keyPrefix = options.keyPrefix ?? "";
		this.keyspace = options.keyspace ?? sharedMemoryKeyspace();
		this.keyspace.attach();
	}

	async get(key: string): Promise<string | null> {
		return this.entry(key, "string")?.value ?? null;
	}

	async set(key: string, value: string, opts: SetOptions = {}): Promise<boolean> {
		checkTtlMs(opts.ttlMs);
		const keyspace = this.open();
		const name = this.keyPrefix + key;
		const now = Date.now();
		if (opts.onlyIfAbsent && keyspace.read(name, now)) return false;
		keyspace.write(name, { kind: "string", value, expiresAt: opts.ttlMs === undefined ? undefined : now + opts.ttlMs });
		return true;
	}

	async replace(key: string, expected: string, value: string, opts: { ttlMs?: number } = {}): Promise<boolean> {
		checkTtlMs(opts.ttlMs);
		if (this.entry(key, "string")?.value !== expected) return false;
		this.open().write(this.keyPrefix + key, { kind: "string", value, expiresAt: opts.ttlMs === undefined ? undefined : Date.now() + opts.ttlMs });
		return true;
	}

	async del(...keys: string[]): Promise<number> {
		const keyspace = this.open();
		const now = Date.now();
		let deleted = 0;
		for (const key of new Set(keys)) {
			const name = this.keyPrefix + key;
			if (keyspace.read(name, now)) deleted += Number(keyspace.delete(name));
		}
		return deleted;
	}

	async incr(key: string, opts: IncrOptions = {}): Promise<number> {
		const by = opts.by ?? 1;
		checkIncrement(by);
		checkTtlMs(opts.ttlMs);
		const entry = this.entry(key, "string");
		if (!entry) {
			this.open().write(this.keyPrefix + key, { kind: "string", value: String(by), expiresAt: opts.ttlMs === undefined ? undefined : Date.now() + opts.ttlMs });
			return by;
		}
		if (!REDIS_INTEGER.test(entry.value) || !Number.isSafeInteger(Number(entry.value))) {
			throw new StoreError("NOT_AN_INTEGER", `value of ${key} is not an integer or out of range`);
		}
		const next = Number(entry.value) + by;
		if (!Number.isSafeInteger(next)) throw new StoreError("NOT_AN_INTEGER", `incrementing ${key} would leave the safe integer range`);
		// Updated in place: like INCRBY, the counter keeps the expiry it was created with.
		entry.value = String(next);
		return next;
	}

	async ttl(key: string): Promise<number | null> {
		const now = Date.now();
		const expiresAt = this.open().read(this.keyPrefix + key, now)?.expiresAt;
		return expiresAt === undefined ? null : expiresAt - now;
	}

	async geoAdd(index: string, member: string, position: GeoPoint): Promise<boolean> {
		checkGeoPoint(position);
		return this.entryOrCreate(index, "geo", () => ({ kind: "geo", index: new GeoIndex() })).index.put(member, position);
	}

	async geoRemove(index: string, member: string): Promise<boolean> {
		const entry = this.entry(index, "geo");
		if (!entry?.index.remove(member)) return false;
		if (entry.index.size === 0) this.open().delete(this.keyPrefix + index);
		return true;
	}

	async geoSearch(index: string, query: GeoSearchQuery): Promise<GeoHit[]> {
		checkGeoSearch(query);
		return this.entry(index, "geo")?.index.search(query) ?? [];
	}

	async geoPosition(index: string, member: string): Promise<GeoPoint | null> {
		return this.entry(index, "geo")?.index.position(member) ?? null;
	}

	async zAdd(set: string, member: string, score: number): Promise<boolean> {
		checkScore(score);
		return this.entryOrCreate(set, "zset", () => ({ kind: "zset", set: new SortedSet() })).set.put(member, score);
	}

	async zIncrBy(set: string, member: string, delta: number): Promise<number> {
		checkScore(delta, "delta");
		const next = (this.entry(set, "zset")?.set.score(member) ?? 0) + delta;
		// Doubles only leave the finite range by overflow; refuse before creating anything.
		checkScore(next, "resulting score");
		this.entryOrCreate(set, "zset", () => ({ kind: "zset", set: new SortedSet() })).set.put(member, next);
		return next;
	}

	async zScore(set: string, member: string): Promise<number | null> {
		return this.entry(set, "zset")?.set.score(member) ?? null;
	}

	async zRem(set: string, member: string): Promise<boolean> {
		const entry = this.entry(set, "zset");
		if (!entry?.set.remove(member)) return false;
		if (entry.set.size === 0) this.open().delete(this.keyPrefix + set);
		return true;
	}

	async zCard(set: string): Promise<number> {
		return this.entry(set, "zset")?.set.size ?? 0;
	}

	async zRangeByRank(set: string, start: number, stop: number, opts: RankOptions = {}): Promise<ScoredMember[]> {
		checkRank(start, "start");
		checkRank(stop, "stop");
		const sorted = this.entry(set, "zset")?.set;
		if (!sorted) return [];
		// ZRANGE's index arithmetic, step for step (t_zset.c), so out-of-range ranks clamp the same way.
		const length = sorted.size;
		if (start < 0) start += length;
		if (stop < 0) stop += length;
		if (start < 0) start = 0;
		if (start > stop || start >= length) return [];
		if (stop >= length) stop = length - 1;
		if (!opts.descending) return sorted.slice(start, stop);
		return sorted.slice(length - 1 - stop, length - 1 - start).reverse();
	}

	async zRank(set: string, member: string, opts: RankOptions = {}): Promise<number | null> {
		const sorted = this.entry(set, "zset")?.set;
		const rank = sorted?.rank(member) ?? null;
		return rank === null || !opts.descending ? rank : sorted!.size - 1 - rank;
	}

	async ping(): Promise<void> {
		this.open();
	}

	async close(): Promise<void> {
		this.keyspace?.detach();
		this.keyspace = undefined;
	}

	private open(): MemoryKeyspace {
		if (!this.keyspace) throw new Error(`memory store (prefix "${this.keyPrefix}") is closed`);
		return this.keyspace;
	}

	private entry<K extends Kind>(key: string, kind: K): EntryOf<K> | undefined {
		const entry = this.open().read(this.keyPrefix + key, Date.now());
		if (entry && entry.kind !== kind) {
			throw new StoreError("WRONG_KIND", `${key} holds ${KIND_NAMES[entry.kind]}, not ${KIND_NAMES[kind]}`);
		}
		return entry as EntryOf<K> | undefined;
	}

	private entryOrCreate<K extends Kind>(key: string, kind: K, create: () => EntryOf<K>): EntryOf<K> {
		const existing = this.entry(key, kind);
		if (existing) return existing;
		const created = create();
		this.open().write(this.keyPrefix + key, created);
		return created;
	}
}
