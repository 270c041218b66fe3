import type { Fix, FixHistory } from "./fix";
import { fixFingerprint, remember, replayedFix } from "./replayed-fix";

const t0 = Date.parse("2025-06-01T10:00:00Z");
/** The n-th fix of a walk: one every five seconds, a few metres apart. */
const walk = (n: number): Fix => ({ lat: 48.8584 + n * 0.00005, lon: 2.2945, accuracy: 5, recordedAt: t0 + n * 5_000 });
const received = (...fixes: Fix[]): FixHistory => ({ lastAccepted: fixes.at(-1), recent: fixes.map(fixFingerprint) });

describe("fix fingerprint", () => {
	it("is the same for the same numbers however they were written", () => {
		const parsed: Fix = JSON.parse('{ "lat": 48.85840, "lon": 2.29450, "accuracy": 5.0, "recordedAt": 1748772000000 }');
		expect(fixFingerprint(parsed)).toBe(fixFingerprint({ lat: 48.8584, lon: 2.2945, accuracy: 5, recordedAt: 1_748_772_000_000 }));
	});

	it("tells apart fixes differing in any one field", () => {
		const fix = walk(0);
		const variants = [fix, { ...fix, lat: fix.lat + 1e-9 }, { ...fix, lon: fix.lon + 1e-9 }, { ...fix, accuracy: 5.1 }, { ...fix, recordedAt: fix.recordedAt + 1 }];
		expect(new Set(variants.map(fixFingerprint)).size).toBe(variants.length);
	});
});

describe("replayed fix", () => {
	it("has nothing to compare a participation's first fix with", () => {
		expect(replayedFix({ recent: [] }, walk(0))).toBeUndefined();
	});

	it("accepts a new fix, and a player standing still at a new time", () => {
		const history = received(walk(0), walk(1), walk(2));
		expect(replayedFix(history, walk(3))).toBeUndefined();
		expect(replayedFix(history, { ...walk(2), recordedAt: walk(2).recordedAt + 5_000 })).toBeUndefined();
	});

	it("flags an identical fix sent again after others", () => {
		const history = received(walk(0), walk(1), walk(2), walk(3));
		expect(replayedFix(history, walk(1))).toEqual({
			code: "REPLAYED_FIX",
			evidence: { match: "identical", recordedAt: "2025-06-01T10:00:05.000Z", fingerprint: fixFingerprint(walk(1)), earlierFingerprint: fixFingerprint(walk(1)) },
		});
	});

	it("flags a different fix dated at the same instant as one already received", () => {
		const history = received(walk(0), walk(1), walk(2));
		const moved = { ...walk(1), lat: walk(1).lat + 0.01 };
		expect(replayedFix(history, moved)?.evidence).toMatchObject({ match: "same recordedAt", fingerprint: fixFingerprint(moved), earlierFingerprint: fixFingerprint(walk(1)) });
		// Only the accuracy edited: still the same instant.
		expect(replayedFix(history, { ...walk(2), accuracy: 3 })?.evidence.match).toBe("same recordedAt");
	});

	it("recognises a refused fix sent again: every received fix is remembered", () => {
		const refused = { ...walk(3), lat: 40 };
		const history: FixHistory = { lastAccepted: walk(2), recent: [...received(walk(0), walk(1), walk(2)).recent, fixFingerprint(refused)] };
		expect(replayedFix(history, refused)?.evidence.match).toBe("identical");
	});

	it("recognises the last accepted fix even once it has left the recent list", () => {
		const history: FixHistory = { lastAccepted: walk(0), recent: [walk(1), walk(2)].map(fixFingerprint) };
		expect(replayedFix(history, walk(0))?.evidence.match).toBe("identical");
	});
});

describe("remember", () => {
	it("adds the fix newest last without changing the history it was given", () => {
		const history = received(walk(0), walk(1));
		const before = [...history.recent];
		expect(remember(history, walk(2), { replayMemory: 32 })).toEqual([walk(0), walk(1), walk(2)].map(fixFingerprint));
		expect(history.recent).toEqual(before);
	});

	it("keeps at most replayMemory fixes, dropping the oldest", () => {
		let history: FixHistory = { recent: [] };
		for (let n = 0; n < 10; n++) history = { recent: remember(history, walk(n), { replayMemory: 4 }) };
		expect(history.recent).toEqual([walk(6), walk(7), walk(8), walk(9)].map(fixFingerprint));
		// Beyond the memory a replay goes unnoticed by this rule: TIME_WENT_BACKWARDS flags it, being older than the last accepted fix.
		expect(replayedFix(history, walk(5))).toBeUndefined();
		expect(replayedFix(history, walk(6))?.code).toBe("REPLAYED_FIX");
	});

	it("remembers nothing with a memory of zero", () => {
		expect(remember(received(walk(0)), walk(1), { replayMemory: 0 })).toEqual([]);
	});
});
