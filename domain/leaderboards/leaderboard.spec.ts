import { MemoryStore } from "../../platform/store";
import { fromRankValue, Leaderboards, MAX_RANKED_SCORE, rankValue, type Standing } from "./leaderboard";

const HUNT = "hunt-1";
const standing = (playerId: string, score: number, completedAt: string | null = null, state: Standing["state"] = completedAt ? "completed" : "active"): Standing => ({
	huntId: HUNT,
	playerId,
	state,
	score,
	completedAt,
});

describe("rankValue", () => {
	it("ranks a higher score first, then an earlier finish, then a finisher before a player still walking", () => {
		const ordered = [rankValue(120, null), rankValue(100, "2026-06-01T10:00:00Z"), rankValue(100, "2026-06-01T10:00:01Z"), rankValue(100, null), rankValue(0, null)];
		expect([...ordered].sort((a, b) => b - a)).toEqual(ordered);
		expect(new Set(ordered).size).toBe(ordered.length);
	});

	it("gives back the score and the finish (to the second) it was made of", () => {
		expect(fromRankValue(rankValue(4321, "2026-06-01T10:00:00.750Z"))).toEqual({ score: 4321, completedAt: "2026-06-01T10:00:00.000Z" });
		expect(fromRankValue(rankValue(7, null))).toEqual({ score: 7, completedAt: null });
		expect(fromRankValue(rankValue(MAX_RANKED_SCORE, "2300-01-01T00:00:00Z"))).toEqual({ score: MAX_RANKED_SCORE, completedAt: "2300-01-01T00:00:00.000Z" });
		expect(Number.isSafeInteger(rankValue(MAX_RANKED_SCORE, "2020-01-01T00:00:00Z"))).toBe(true);
	});
});

describe("Leaderboards", () => {
	it("keeps each player at their latest standing, ranks ties alike, and drops the disqualified", async () => {
		const boards = new Leaderboards(new MemoryStore());
		for (const s of [standing("ann", 10), standing("bob", 30), standing("cid", 30), standing("ann", 50, "2026-06-01T10:00:00Z"), standing("dan", 40)]) await boards.apply(s);
		expect(await boards.top(HUNT, 10)).toEqual([
			{ rank: 1, playerId: "ann", score: 50, completedAt: "2026-06-01T10:00:00.000Z" },
			{ rank: 2, playerId: "dan", score: 40 },
			{ rank: 3, playerId: "cid", score: 30 },
			{ rank: 3, playerId: "bob", score: 30 },
		]);
		await boards.apply(standing("dan", 40, null, "disqualified"));
		expect((await boards.top(HUNT, 2)).map(p => p.playerId)).toEqual(["ann", "cid"]);
	});

	it("keeps the newest standing when older ones arrive late, even racing on several consumers", async () => {
		const boards = new Leaderboards(new MemoryStore());
		const huntId = "hunt-out-of-order";
		const of = (version: number, hunt = huntId) => ({ ...standing("ann", version * 10, version === 8 ? "2026-06-01T10:00:00Z" : null), huntId: hunt, version });
		const newest = [{ rank: 1, playerId: "ann", score: 80, completedAt: "2026-06-01T10:00:00.000Z" }];
		await boards.apply(of(8));
		for (const version of [3, 1, 7]) await boards.apply(of(version));
		expect(await boards.top(huntId, 1)).toEqual(newest);
		// Every order at once, each through a store client of its own on one keyspace (as consumers on
		// several nodes share Redis).
		for (let trial = 0; trial < 20; trial++) {
			const hunt = `race-${trial}`;
			const shuffled = [1, 2, 3, 4, 5, 6, 7, 8].sort(() => Math.random() - 0.5);
			await Promise.all(shuffled.map(version => new Leaderboards(new MemoryStore()).apply(of(version, hunt))));
			expect(await boards.top(hunt, 1)).toEqual(newest);
		}
		// A disqualification, once newer, stays even if the standing before it arrives after.
		await boards.apply({ ...standing("bob", 20), huntId, version: 4 });
		await boards.apply({ ...standing("bob", 20, null, "disqualified"), huntId, version: 6 });
		await boards.apply({ ...standing("bob", 25), huntId, version: 5 });
		expect((await boards.top(huntId, 5)).map(p => p.playerId)).toEqual(["ann"]);
		// A standing sent before standings had a version, retried late, replaces no versioned one.
		await boards.apply({ ...standing("ann", 5), huntId });
		expect(await boards.top(huntId, 1)).toEqual(newest);
		// A rebuild from participations read before the newest standing came keeps the newest.
		await boards.rebuild(huntId, [{ ...of(6), huntId }]);
		expect(await boards.top(huntId, 5)).toEqual(newest);
	});

	it("changes nothing when a standing is delivered twice", async () => {
		const boards = new Leaderboards(new MemoryStore());
		const standings = [standing("ann", 10), standing("bob", 20, "2026-06-01T10:00:00Z")];
		for (const s of standings) await boards.apply(s);
		const once = await boards.top(HUNT, 10);
		for (const s of standings) await boards.apply(s);
		expect(await boards.top(HUNT, 10)).toEqual(once);
	});

	it("rebuilds a board identical to the one the standings fed", async () => {
		const boards = new Leaderboards(new MemoryStore());
		const standings = [standing("ann", 10), standing("bob", 30, "2026-06-01T10:00:00Z"), standing("eve", 99, null, "disqualified"), standing("cid", 30)];
		for (const s of standings) await boards.apply(s);
		const before = await boards.top(HUNT, 100);
		expect(await boards.rebuild(HUNT, standings)).toBe(3);
		expect(await boards.top(HUNT, 100)).toEqual(before);
	});
});
