/**
 * Where a position report finds its participation, so that a report which changes nothing costs no
 * database write. Most reports change only the anti-cheat memory (the last accepted fix, the
 * fingerprints of recent ones); with a cache that memory lives in the shared key-value store (in
 * process by default, Redis across nodes), beside a copy of the participation, and only a report
 * that discovers or flags something reaches the database.
 *
 * How nodes stay in step:
 * - a copy is written back only over the exact value it was read as (compare-and-set): of two
 *   reports decided at once on two nodes, one lands; the other reads again and decides again;
 * - a change (a discovery, a flag, an answer, a hint, a review) takes the participation's lock, a
 *   key of its own that the store expires (so every node agrees when a lock lapsed, whatever its
 *   own clock says), and marks the copy with it: reports wait rather than decide on a copy about to
 *   be replaced. The change is decided again on the database row, locked in its transaction, and
 *   commits only if it still holds the lock; the committed record then replaces the copy;
 * - a copy whose lock lapsed (its node died or stalled mid-change) is read from the row again; a
 *   copy that could not be replaced after a commit, or whose participation was changed without a
 *   lock (the closing sweep), becomes a marker naming the row version a copy must at least have, so
 *   a read that raced the commit cannot put an older row back.
 * The row counts its commits (`version`). The one window left: a lock that lapses between the
 * holder's last check and its commit, where a fix decided meanwhile may be forgotten by the replay
 * memory; nothing is ever discovered, scored or flagged twice.
 *
 * Without a shared store (nodes over a transporter, each with its own memory store), a copy per
 * node would let nodes disagree; there every report reads the row and keeps its memory in it, with
 * the same version check.
 */
import { randomUUID } from "node:crypto";
import type { KeyValueStore } from "../../platform/store/types";
import type { SqlExecutor } from "../../platform/sql";
import type { FixHistory } from "./anti-cheat/fix";
import type { ClosedBy } from "./closing";
import type { ParticipationRecord, PlayStore } from "./play-store";
import type { ParticipationState } from "./participation-lifecycle";

/** A participation as read, with the exact cached value it came from (null: not from the cache). */
export interface ReadParticipation {
	record: ParticipationRecord;
	cached: string | null;
	/** The lock of a change being made elsewhere, when the copy is marked with one. */
	lockedBy?: string;
}

/** What a change holds while it is decided and committed. */
export interface Claim {
	read: ReadParticipation;
	/** The marked copy the commit replaces, and the lock's token; null where there is no cache. */
	marked: string | null;
	token: string;
	/** The row's version as the change's transaction locked it. */
	rowVersion?: number;
}

/**
 * A copy outlives a pause in play (a lunch, a phone in a pocket); one not played for this long is
 * read from the database again, which holds everything but the anti-cheat memory since the last
 * change.
 */
const CACHED_FOR_MS = 2 * 60 * 60_000;
/** Bumped when the cached shape changes: a copy in an older shape is read afresh, never misread. */
const FORMAT = 1;
/**
 * How long a change may hold the lock: far longer than a transaction takes, short enough that a
 * node dying mid-change holds its players up only this long.
 */
const LOCK_MS = 5_000;
/** How often a report waiting for a change looks again. */
const LOCK_POLL_MS = 10;

interface Cached {
	format: typeof FORMAT;
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
	lockedBy?: string;
}

/** In place of a copy: read the row, and take it only from this version on. */
interface Marker {
	format: typeof FORMAT;
	readFrom: number;
}

export class ParticipationCache {
	/** @param shared the shared store, or none where nodes would each have their own (see above). */
	constructor(
		private readonly store: PlayStore,
		private readonly shared: KeyValueStore | undefined,
		private readonly lockMs = LOCK_MS,
	) {}

	async read(id: string): Promise<ReadParticipation | undefined> {
		const shared = this.shared;
		if (!shared) {
			const record = await this.store.load(this.store.db, id);
			return record && { record, cached: null };
		}
		const key = copyKey(id);
		for (let attempt = 0; attempt < 5; attempt++) {
			const value = await shared.get(key);
			const found = value === null ? undefined : decode(value);
			if (found && "record" in found) {
				if (found.lockedBy === undefined || (await this.lockHeld(id, found.lockedBy))) return { record: found.record, cached: value, ...(found.lockedBy ? { lockedBy: found.lockedBy } : {}) };
			}
			// No copy, a marker, a copy whose change lapsed (its node died or stalled, perhaps after
			// committing), or something unreadable: the row is the truth.
			const loaded = await this.store.load(this.store.db, id);
			if (!loaded) return undefined;
			// Read before a commit the marker names: read again.
			if (found && "readFrom" in found && loaded.version < found.readFrom) continue;
			// A lapsed change that did not commit: its copy's anti-cheat memory is still the newest.
			if (found && "record" in found && found.record.version === loaded.version) loaded.history = found.record.history;
			const fresh = encode(loaded);
			const written = value === null ? await shared.set(key, fresh, { ttlMs: CACHED_FOR_MS, onlyIfAbsent: true }) : await shared.replace(key, value, fresh, { ttlMs: CACHED_FOR_MS });
			if (written) return { record: loaded, cached: fresh };
		}
		// Fought over all along: the row as it is, without a copy (a change would take the lock).
		const record = await this.store.load(this.store.db, id);
		return record && { record, cached: null };
	}

	/**
	 * A report that changed nothing but the anti-cheat memory: kept in the copy (or, without a cache,
	 * in the row). False when the participation changed since it was read: read and decide again.
	 */
	async keepHistory(read: ReadParticipation, history: FixHistory, now: Date): Promise<boolean> {
		if (!this.shared) return this.store.keepHistory(read.record.id, read.record.version, history, now);
		if (read.cached === null || read.lockedBy !== undefined) return false;
		return this.shared.replace(copyKey(read.record.id), read.cached, encode({ ...read.record, history }), { ttlMs: CACHED_FOR_MS });
	}

	/** Waits until no change holds the participation, and reads it. */
	async readUnlocked(id: string): Promise<ReadParticipation | undefined> {
		for (;;) {
			const read = await this.read(id);
			if (!read || read.lockedBy === undefined) return read;
			await sleep(LOCK_POLL_MS);
		}
	}

	/** Takes the participation's lock and marks its copy with it (see above); read afresh. */
	async claim(id: string): Promise<Claim | undefined> {
		const shared = this.shared;
		const token = randomUUID();
		if (!shared) {
			const read = await this.read(id);
			return read && { read, marked: null, token };
		}
		for (;;) {
			const read = await this.readUnlocked(id);
			if (!read) return undefined;
			if (!(await shared.set(lockKey(id), token, { onlyIfAbsent: true, ttlMs: this.lockMs }))) {
				await sleep(LOCK_POLL_MS);
				continue;
			}
			if (read.cached === null) return { read, marked: null, token };
			const marked = encode(read.record, token);
			if (await shared.replace(copyKey(id), read.cached, marked, { ttlMs: CACHED_FOR_MS })) return { read, marked, token };
			await this.unlock(id, token);
		}
	}

	/**
	 * Inside the change's transaction, just before it commits: true while the claim still holds the
	 * lock, which it then keeps for another lock's life. False: another change may have taken over, so
	 * roll back and start again.
	 */
	async stillHeld(claim: Claim): Promise<boolean> {
		if (!this.shared) return true;
		return this.shared.replace(lockKey(claim.read.record.id), claim.token, claim.token, { ttlMs: this.lockMs });
	}

	/**
	 * The row locked until `tx` ends, as a change is decided on: the claimed copy when it is of the
	 * row's version (the copy is the row then, with the newest anti-cheat memory), else the row as
	 * the database has it.
	 */
	async lockForChange(tx: SqlExecutor, id: string, claim: Claim): Promise<ParticipationRecord | undefined> {
		if (claim.marked !== null) {
			const version = await this.store.lockRow(tx, id);
			claim.rowVersion = version;
			if (version === undefined) return undefined;
			if (version === claim.read.record.version) return claim.read.record;
		}
		const record = await this.store.load(tx, id, { forUpdate: true });
		claim.rowVersion = record?.version;
		return record;
	}

	/** After a commit: the committed record replaces the claimed copy, and the lock goes. */
	async committed(claim: Claim, record: ParticipationRecord): Promise<void> {
		const shared = this.shared;
		if (!shared) return;
		const id = record.id;
		const replaced = claim.marked !== null && (await shared.replace(copyKey(id), claim.marked, encode(record), { ttlMs: CACHED_FOR_MS }));
		if (!replaced) await this.mark(id, record.version);
		await this.unlock(id, claim.token);
	}

	/**
	 * A change that rolled back: the copy as it was, unless the row had moved on from it (then a
	 * marker, so the row is read), and the lock goes.
	 */
	async rolledBack(claim: Claim): Promise<void> {
		const shared = this.shared;
		if (!shared) return;
		const id = claim.read.record.id;
		if (claim.marked !== null) {
			const { rowVersion } = claim;
			const restored = rowVersion === undefined || rowVersion === claim.read.record.version ? claim.read.cached! : encodeMarker(rowVersion);
			await shared.replace(copyKey(id), claim.marked, restored, { ttlMs: CACHED_FOR_MS });
		}
		await this.unlock(id, claim.token);
	}

	/** A change whose commit may or may not have happened (the connection broke on COMMIT): read the row. */
	async uncertain(claim: Claim): Promise<void> {
		if (!this.shared) return;
		await this.mark(claim.read.record.id, 0);
		await this.unlock(claim.read.record.id, claim.token);
	}

	/** Participations the closing sweep changed without the lock: their copies give way to markers. */
	async changedElsewhere(changed: ReadonlyArray<{ id: string; version: number }>): Promise<void> {
		for (const { id, version } of changed) await this.mark(id, version);
	}

	/**
	 * When a participation last reported, for operators: a sorted set per hunt (a store write, not a
	 * database one). Without a cache, keepHistory writes it in the row.
	 */
	async reported(huntId: string, id: string, now: number): Promise<void> {
		if (this.shared) await this.shared.zAdd(reportsKey(huntId), id, now);
	}

	/** Participation id → epoch ms of its last report, as far as the cache knows. */
	async lastReports(huntId: string): Promise<Map<string, number>> {
		if (!this.shared) return new Map();
		return new Map((await this.shared.zRangeByRank(reportsKey(huntId), 0, -1)).map(({ member, score }) => [member, score]));
	}

	private async mark(id: string, readFrom: number): Promise<void> {
		await this.shared?.set(copyKey(id), encodeMarker(readFrom), { ttlMs: CACHED_FOR_MS });
	}

	private async lockHeld(id: string, token: string): Promise<boolean> {
		return (await this.shared!.get(lockKey(id))) === token;
	}

	/** Drops the lock if it is still this one's: a value that expires at once (the store has no delete-if-equal). */
	private async unlock(id: string, token: string): Promise<void> {
		await this.shared?.replace(lockKey(id), token, "released", { ttlMs: 1 });
	}
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

const copyKey = (id: string) => `play:participation:${id}`;
const lockKey = (id: string) => `play:lock:${id}`;
const reportsKey = (huntId: string) => `play:reported:${huntId}`;

function encodeMarker(readFrom: number): string {
	const marker: Marker = { format: FORMAT, readFrom };
	return JSON.stringify(marker);
}

function encode(record: ParticipationRecord, lockedBy?: string): string {
	const cached: Cached = {
		format: FORMAT,
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
		...(lockedBy ? { lockedBy } : {}),
	};
	return JSON.stringify(cached);
}

/** A copy or a marker; undefined for anything else (an older format, a damaged value): read the row. */
function decode(value: string): { record: ParticipationRecord; lockedBy?: string } | { readFrom: number } | undefined {
	try {
		const cached = JSON.parse(value) as Partial<Cached & Marker> | null;
		if (cached?.format !== FORMAT) return undefined;
		if (typeof cached.readFrom === "number") return { readFrom: cached.readFrom };
		const { id, huntId, playerId, state, score, version, startedAt, completedAt, closesAt, closedBy, history, flagTimes, discoveries, hints, lockedBy } = cached;
		if (typeof id !== "string" || typeof huntId !== "string" || typeof playerId !== "string" || typeof state !== "string" || typeof score !== "number" || typeof version !== "number") return undefined;
		if (typeof startedAt !== "number" || !Array.isArray(history?.recent) || !Array.isArray(flagTimes) || !Array.isArray(discoveries) || !Array.isArray(hints)) return undefined;
		const record: ParticipationRecord = {
			id,
			huntId,
			playerId,
			state,
			score,
			version,
			startedAt: new Date(startedAt),
			completedAt: typeof completedAt === "number" ? new Date(completedAt) : null,
			closesAt: typeof closesAt === "number" ? new Date(closesAt) : null,
			closedBy: closedBy ?? null,
			history,
			flagTimes,
			discoveries: new Map(discoveries.map(([clueId, discoveredAt, solvedAt]) => [clueId, { discoveredAt: new Date(discoveredAt), solvedAt: solvedAt === null ? null : new Date(solvedAt) }])),
			hintsTaken: new Map(hints),
		};
		return { record, ...(typeof lockedBy === "string" ? { lockedBy } : {}) };
	} catch {
		return undefined;
	}
}
