/**
 * Where a position report finds its participation, so that a report which changes nothing costs no
 * database write. Most reports change only the anti-cheat memory (the last accepted fix, the
 * fingerprints of recent ones); with a cache that memory lives in the shared key-value store (in
 * process by default, Redis across nodes), beside a copy of the participation, and only a report
 * that discovers or flags something reaches the database.
 *
 * Correct on any number of nodes:
 * - the cached copy is written back only over the exact value it was read as (compare-and-set):
 *   two reports decided at once on two nodes cannot both land; the loser reads again and decides
 *   again;
 * - a change (a discovery, a flag, an answer, a hint, a review) first claims the copy, the same
 *   way, for a few seconds: reports meanwhile wait for it rather than decide on a copy about to be
 *   replaced. It is then decided again on the database row, locked in its transaction, with the
 *   cached anti-cheat memory when the copy is of the row's version (`version` counts committed
 *   changes). The commit replaces the claimed copy; a claim that expired (a node that died
 *   mid-change) is simply taken over, and a copy that moved meanwhile is dropped, so the next report
 *   reads the row afresh.
 *
 * Without a shared store (nodes over a transporter, each with its own memory store), a cache per
 * node would let nodes disagree; there every report reads the row and keeps its memory in it, with
 * the same version check.
 */
import type { KeyValueStore } from "../../platform/store/types";
import type { SqlExecutor } from "../../platform/sql";
import type { FixHistory } from "./anti-cheat/fix";
import type { ClosedBy } from "./closing";
import type { ParticipationRecord, PlayStore } from "./play-store";
import type { ParticipationState } from "./participation-lifecycle";

/** A participation as read, with the exact cached value it came from (null: read from the database). */
export interface ReadParticipation {
	record: ParticipationRecord;
	cached: string | null;
	/** Epoch ms until which a change being made elsewhere holds the copy. */
	claimedUntil?: number;
}

/** The copy held while a change is made: `value` is what the commit replaces. */
export interface Claim {
	read: ReadParticipation;
	value: string | null;
}

/**
 * A cached copy outlives a pause in play (a lunch, a phone in a pocket); one not played for this
 * long is read from the database again, which holds everything but the anti-cheat memory since the
 * last change.
 */
const CACHED_FOR_MS = 2 * 60 * 60_000;
/** Bumped when the cached shape changes: a copy in an older shape is read afresh, never misread. */
const FORMAT = 1;
/**
 * How long a change may hold the copy: longer than any transaction takes, short enough that a
 * node dying mid-change holds its players up only this long.
 */
const CLAIM_MS = 5_000;
/** How often a report waiting for a claim looks again. */
const CLAIM_POLL_MS = 5;

interface Cached {
	f: typeof FORMAT;
	id: string;
	huntId: string;
	playerId: string;
	state: ParticipationState;
	score: number;
	version: number;
	startedAt: number;
	completedAt: number | null;
	closesAt: number | null;
	closedBy: ClosedBy | null;
	history: FixHistory;
	flagTimes: number[];
	discoveries: Array<[clueId: string, discoveredAt: number, solvedAt: number | null]>;
	hints: Array<[clueId: string, costs: number[]]>;
	claimedUntil?: number;
}

export class ParticipationStates {
	/**
	 * @param cache the shared store, or none where nodes would each have their own (see above).
	 */
	constructor(
		private readonly store: PlayStore,
		private readonly cache: KeyValueStore | undefined,
		private readonly now: () => number = Date.now,
	) {}

	get cached(): boolean {
		return this.cache !== undefined;
	}

	async read(id: string): Promise<ReadParticipation | undefined> {
		if (!this.cache) {
			const record = await this.store.load(this.store.db, id);
			return record && { record, cached: null };
		}
		const key = cacheKey(id);
		// Two tries: a copy another report filled or replaced in between is read rather than fought.
		for (let attempt = 0; attempt < 2; attempt++) {
			const value = await this.cache.get(key);
			const decoded = value === null ? undefined : decode(value);
			// A claim that lapsed is a change whose node died (or stalled) between its commit and the
			// write-back: the copy may be behind the row, so the row is read again.
			const lapsed = decoded?.claimedUntil !== undefined && decoded.claimedUntil <= this.now();
			if (decoded && !lapsed) return { record: decoded.record, cached: value, ...(decoded.claimedUntil ? { claimedUntil: decoded.claimedUntil } : {}) };
			const loaded = await this.store.load(this.store.db, id);
			if (!loaded) return undefined;
			// The change did not commit after all: the copy's anti-cheat memory is still the newest.
			if (decoded && decoded.record.version === loaded.version) loaded.history = decoded.record.history;
			const fresh = encode(loaded);
			const written = value === null ? await this.cache.set(key, fresh, { ttlMs: CACHED_FOR_MS, onlyIfAbsent: true }) : await this.cache.replace(key, value, fresh, { ttlMs: CACHED_FOR_MS });
			if (written) return { record: loaded, cached: fresh };
		}
		const record = await this.store.load(this.store.db, id);
		return record && { record, cached: null };
	}

	/**
	 * A report that changed nothing but the anti-cheat memory: kept in the cache (or, without one,
	 * in the row). False when the participation changed since it was read: read and decide again.
	 */
	async keepHistory(read: ReadParticipation, history: FixHistory, now: Date): Promise<boolean> {
		if (!this.cache) return this.store.keepHistory(read.record.id, read.record.version, history, now);
		if (read.cached === null || this.isClaimed(read)) return false;
		return this.cache.replace(cacheKey(read.record.id), read.cached, encode({ ...read.record, history }), { ttlMs: CACHED_FOR_MS });
	}

	/** Whether a change being made elsewhere holds this copy: wait for it, then read again. */
	isClaimed(read: ReadParticipation): boolean {
		return read.claimedUntil !== undefined && read.claimedUntil > this.now();
	}

	/** Waits until no change holds the participation's copy, and reads it. */
	async readUnclaimed(id: string): Promise<ReadParticipation | undefined> {
		for (;;) {
			const read = await this.read(id);
			if (!read || !this.isClaimed(read)) return read;
			await new Promise(resolve => setTimeout(resolve, CLAIM_POLL_MS));
		}
	}

	/** Holds the copy while a change is decided and committed (see above); read afresh. */
	async claim(id: string): Promise<Claim | undefined> {
		for (;;) {
			const read = await this.readUnclaimed(id);
			if (!read) return undefined;
			if (!this.cache || read.cached === null) return { read, value: null };
			const value = encode(read.record, this.now() + CLAIM_MS);
			if (await this.cache.replace(cacheKey(id), read.cached, value, { ttlMs: CACHED_FOR_MS })) return { read, value };
		}
	}

	/**
	 * The row locked until `tx` ends, as a change is decided on: the claimed copy when it is of the
	 * row's version, else the row as the database has it.
	 */
	async lockForChange(tx: SqlExecutor, id: string, claim: Claim): Promise<ParticipationRecord | undefined> {
		if (claim.value !== null) {
			// The claimed copy of the row's very version is the row (and its anti-cheat memory the
			// newest): locking the row is enough, without reading its discoveries and hints again.
			const version = await this.store.lockRow(tx, id);
			if (version === undefined) return undefined;
			if (version === claim.read.record.version) return claim.read.record;
		}
		return this.store.load(tx, id, { forUpdate: true });
	}

	/** After a change committed: the copy becomes the committed record, or goes if it moved meanwhile. */
	async committed(claim: Claim, record: ParticipationRecord): Promise<void> {
		if (!this.cache) return;
		const key = cacheKey(record.id);
		const replaced = claim.value !== null && (await this.cache.replace(key, claim.value, encode(record), { ttlMs: CACHED_FOR_MS }));
		if (!replaced) await this.cache.del(key);
	}

	/** A change that committed nothing (refused, or failed): the copy as it was, unclaimed. */
	async release(claim: Claim): Promise<void> {
		if (!this.cache || claim.value === null || claim.read.cached === null) return;
		await this.cache.replace(cacheKey(claim.read.record.id), claim.value, claim.read.cached, { ttlMs: CACHED_FOR_MS });
	}

	/**
	 * When a participation last reported, for operators. With a cache: a sorted set per hunt (a
	 * store write, not a database one); without: the row, written with the anti-cheat memory.
	 */
	async reported(huntId: string, id: string, now: number): Promise<void> {
		if (this.cache) await this.cache.zAdd(reportsKey(huntId), id, now);
	}

	/** Participation id → epoch ms of its last report, as far as the cache knows. */
	async lastReports(huntId: string): Promise<Map<string, number>> {
		if (!this.cache) return new Map();
		return new Map((await this.cache.zRangeByRank(reportsKey(huntId), 0, -1)).map(({ member, score }) => [member, score]));
	}

	/** Participations changed without being read here first (closed by the sweep): read afresh next time. */
	async forget(ids: readonly string[]): Promise<void> {
		if (this.cache && ids.length) await this.cache.del(...ids.map(cacheKey));
	}
}

const cacheKey = (id: string) => `play:participation:${id}`;
const reportsKey = (huntId: string) => `play:reported:${huntId}`;

function encode(record: ParticipationRecord, claimedUntil?: number): string {
	const cached: Cached = {
		f: FORMAT,
		id: record.id,
		huntId: record.huntId,
		playerId: record.playerId,
		state: record.state,
		score: record.score,
		version: record.version,
		startedAt: record.startedAt.getTime(),
		completedAt: record.completedAt?.getTime() ?? null,
		closesAt: record.closesAt?.getTime() ?? null,
		closedBy: record.closedBy,
		history: record.history,
		flagTimes: record.flagTimes,
		discoveries: [...record.discoveries].map(([clueId, d]) => [clueId, d.discoveredAt.getTime(), d.solvedAt?.getTime() ?? null]),
		hints: [...record.hintsTaken],
		...(claimedUntil ? { claimedUntil } : {}),
	};
	return JSON.stringify(cached);
}

function decode(value: string): { record: ParticipationRecord; claimedUntil?: number } | undefined {
	let cached: Cached;
	try {
		cached = JSON.parse(value) as Cached;
	} catch {
		return undefined;
	}
	if (cached?.f !== FORMAT) return undefined;
	const record: ParticipationRecord = {
		id: cached.id,
		huntId: cached.huntId,
		playerId: cached.playerId,
		state: cached.state,
		score: cached.score,
		version: cached.version,
		startedAt: new Date(cached.startedAt),
		completedAt: cached.completedAt === null ? null : new Date(cached.completedAt),
		closesAt: cached.closesAt === null ? null : new Date(cached.closesAt),
		closedBy: cached.closedBy,
		history: cached.history,
		flagTimes: cached.flagTimes,
		discoveries: new Map(cached.discoveries.map(([clueId, discoveredAt, solvedAt]) => [clueId, { discoveredAt: new Date(discoveredAt), solvedAt: solvedAt === null ? null : new Date(solvedAt) }])),
		hintsTaken: new Map(cached.hints),
	};
	return { record, ...(cached.claimedUntil ? { claimedUntil: cached.claimedUntil } : {}) };
}
