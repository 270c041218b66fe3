import { DEFAULT_REFERENCE_MINUTES, score, timeBonus } from "./scoring";

const minutes = (n: number) => n * 60_000;

describe("score", () => {
	it("adds the points of the clues found and takes off the hints' costs", () => {
		expect(score({ discoveredPoints: [10, 20, 30], hintCosts: [5, 3] })).toEqual({ total: 52, cluePoints: 60, hintCosts: 8, timeBonus: 0 });
	});

	it("never goes below zero when hints cost more than what was found", () => {
		expect(score({ discoveredPoints: [5], hintCosts: [10] }).total).toBe(0);
	});

	it("gives a time bonus only on completion", () => {
		const found = { discoveredPoints: [100, 100], hintCosts: [] };
		expect(score(found).timeBonus).toBe(0);
		expect(score({ ...found, completion: { elapsedMs: minutes(30), huntCluePoints: 200, timeLimitMinutes: 60 } })).toEqual({ total: 250, cluePoints: 200, hintCosts: 0, timeBonus: 50 });
	});
});

describe("timeBonus", () => {
	it("is half the hunt's points for no time at all, and falls linearly to nothing at the time limit", () => {
		expect(timeBonus({ elapsedMs: 0, huntCluePoints: 300, timeLimitMinutes: 60 })).toBe(150);
		expect(timeBonus({ elapsedMs: minutes(45), huntCluePoints: 300, timeLimitMinutes: 60 })).toBe(38);
		expect(timeBonus({ elapsedMs: minutes(60), huntCluePoints: 300, timeLimitMinutes: 60 })).toBe(0);
		expect(timeBonus({ elapsedMs: minutes(90), huntCluePoints: 300, timeLimitMinutes: 60 })).toBe(0);
	});

	it("measures against the default reference time when the hunt has no limit", () => {
		expect(timeBonus({ elapsedMs: minutes(DEFAULT_REFERENCE_MINUTES / 2), huntCluePoints: 100 })).toBe(25);
	});

	it("rewards the faster of two finishers", () => {
		const faster = timeBonus({ elapsedMs: minutes(20), huntCluePoints: 100 });
		const slower = timeBonus({ elapsedMs: minutes(30), huntCluePoints: 100 });
		expect(faster).toBeGreaterThan(slower);
	});

	it("treats a clock that ran backwards as no time taken, never as a bigger bonus", () => {
		expect(timeBonus({ elapsedMs: -minutes(10), huntCluePoints: 100, timeLimitMinutes: 60 })).toBe(50);
	});
});
