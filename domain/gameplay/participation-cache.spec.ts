/**
 * The participation cache on PGlite and a memory store of its own: what it reads, and how it gives
 * way to the row when a change went wrong (a node dying after its commit, a sweep changing the row
 * without the lock, a damaged value).
 */
import { randomUUID } from "node:crypto";
import { MemoryKeyspace, MemoryStore } from "../../platform/store";
import { openTestPGlite, useMigratedSchema } from "../../test/support/sql";
import { ParticipationCache } from "./participation-cache";
import { GAMEPLAY_MIGRATIONS, PlayStore } from "./play-store";

const LOCK_MS = 150;
const db = useMigratedSchema(openTestPGlite, "gameplay", GAMEPLAY_MIGRATIONS);
let store: PlayStore;
let shared: MemoryStore;
let cache: ParticipationCache;
beforeAll(() => {
	store = new PlayStore(db.client, db.schema);
	shared = new MemoryStore({ keyspace: new MemoryKeyspace() });
	cache = new ParticipationCache(store, shared, LOCK_MS);
});

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));
const CLUE = randomUUID();
const fix = (recordedAt: number) => ({ lat: 45.7, lon: 4.8, accuracy: 5, recordedAt });

async function joined(): Promise<string> {
	const result = await store.join(randomUUID(), randomUUID(), null, new Date(), { at: new Date(Date.now() + 3_600_000), by: "hunt_end" });
	if (result.kind !== "joined") throw new Error(result.kind);
	return result.id;
}

async function rowVersion(id: string): Promise<number> {
	return (await store.load(store.db, id))!.version;
}

it("keeps a report's anti-cheat memory in the copy, not the row", async () => {
	const id = await joined();
	const read = (await cache.read(id))!;
	expect(read.record.version).toBe(0);
	const history = { lastAccepted: fix(1000), recent: ["a"] };
	expect(await cache.keepHistory(read, history, new Date())).toBe(true);
	expect((await cache.read(id))!.record.history).toEqual(history);
	expect(await rowVersion(id)).toBe(0);
	// Written over the value it read: a second write-back from the same read loses.
	expect(await cache.keepHistory(read, { recent: ["b"] }, new Date())).toBe(false);
});

it("holds reports back while a change holds the lock, and replaces the copy with what it committed", async () => {
	const id = await joined();
	const claim = (await cache.claim(id))!;
	expect((await cache.read(id))!.lockedBy).toBe(claim.token);
	const waiting = cache.readUnlocked(id);
	const committed = await db.client.transaction(async tx => {
		const record = (await cache.lockForChange(tx, id, claim))!;
		await store.apply(tx, id, { discovered: [CLUE], score: 10 }, new Date());
		expect(await cache.stillHeld(claim)).toBe(true);
		return { ...record, version: record.version + 1, score: 10, discoveries: new Map([[CLUE, { discoveredAt: new Date(), solvedAt: null }]]) };
	});
	await cache.committed(claim, committed);
	const seen = (await waiting)!;
	expect(seen.lockedBy).toBeUndefined();
	expect(seen.record).toMatchObject({ version: 1, score: 10 });
	expect([...seen.record.discoveries.keys()]).toEqual([CLUE]);
});

it("reads the row again when a change's lock lapsed, as when its node died between its commit and the write-back", async () => {
	const id = await joined();
	const claim = (await cache.claim(id))!;
	await db.client.transaction(async tx => {
		await cache.lockForChange(tx, id, claim);
		await store.apply(tx, id, { discovered: [CLUE], score: 10 }, new Date());
	});
	// No write-back: the node "died".
	await sleep(LOCK_MS + 50);
	expect(await cache.stillHeld(claim)).toBe(false);
	const read = (await cache.readUnlocked(id))!;
	expect(read.record).toMatchObject({ version: 1, score: 10 });
	expect(read.lockedBy).toBeUndefined();
});

it("keeps the copy's anti-cheat memory through a change that rolled back, and refuses a change that lost its lock", async () => {
	const id = await joined();
	const history = { lastAccepted: fix(2000), recent: ["x"] };
	expect(await cache.keepHistory((await cache.read(id))!, history, new Date())).toBe(true);
	const claim = (await cache.claim(id))!;
	await expect(
		db.client.transaction(async tx => {
			await cache.lockForChange(tx, id, claim);
			throw new Error("refused");
		}),
	).rejects.toThrow("refused");
	await cache.rolledBack(claim);
	const read = (await cache.read(id))!;
	expect(read.lockedBy).toBeUndefined();
	expect(read.record.history).toEqual(history);

	const late = (await cache.claim(id))!;
	await sleep(LOCK_MS + 50);
	// Another change may have taken over by now.
	const other = (await cache.claim(id))!;
	expect(await cache.stillHeld(late)).toBe(false);
	expect(await cache.stillHeld(other)).toBe(true);
	await cache.rolledBack(other);
});

it("gives way to the row a sweep closed without the lock", async () => {
	const id = await joined();
	await cache.read(id);
	const closed = await db.client.transaction(tx => store.closeDue(tx, new Date(Date.now() + 7_200_000), 10_000));
	const ours = closed.filter(row => row.id === id);
	expect(ours).toHaveLength(1);
	await cache.changedElsewhere(ours);
	expect((await cache.read(id))!.record).toMatchObject({ state: "completed", closedBy: "hunt_end", version: ours[0].version });
});

it("reads the row in place of a value it cannot read", async () => {
	const id = await joined();
	for (const damaged of ["not json", "null", '{"format":1,"id":"x"}', '{"format":99}']) {
		await shared.set(`play:participation:${id}`, damaged);
		expect((await cache.read(id))!.record).toMatchObject({ id, state: "active", version: 0 });
	}
});
