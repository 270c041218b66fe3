import { destination, distanceM } from "../../hunts/geo";
import { DEFAULT_ANTI_CHEAT_POLICY } from "./fix";
import type { Fix } from "./fix";
import { impossibleSpeed } from "./impossible-speed";

const EAST = Math.PI / 2;
const start: Fix = { lat: 48.8584, lon: 2.2945, accuracy: 5, recordedAt: Date.parse("2025-06-01T10:00:00Z") };
const policy = DEFAULT_ANTI_CHEAT_POLICY;

/** A fix `metres` east of `from`, `seconds` later. */
function moved(from: Fix, metres: number, seconds: number, accuracy = from.accuracy): Fix {
	return { ...destination(from, metres, EAST), accuracy, recordedAt: from.recordedAt + seconds * 1000 };
}

describe("impossible speed", () => {
	it("has nothing to compare a participation's first fix with", () => {
		expect(impossibleSpeed(undefined, start, policy)).toBeUndefined();
	});

	it("lets a player walk, drive or take a train", () => {
		expect(impossibleSpeed(start, moved(start, 15, 10), policy)).toBeUndefined();
		expect(impossibleSpeed(start, moved(start, 5_000, 150), policy)).toBeUndefined();
		expect(impossibleSpeed(start, moved(start, 10_000, 200), policy)).toBeUndefined();
	});

	it("flags a jump across the city, with the evidence an admin needs", () => {
		expect(impossibleSpeed(start, moved(start, 5_000, 30), policy)).toEqual({
			code: "IMPOSSIBLE_SPEED",
			evidence: { distanceM: 5_000, requiredDistanceM: 4_990, seconds: 30, phoneSeconds: 30, speedMps: 166.33, maxSpeedMps: 70 },
		});
	});

	it("gives the player the benefit of both fixes' accuracy", () => {
		// 100 m in one second, but each fix may be 60 m off: the player may not have moved at all.
		const sloppy = { ...start, accuracy: 60 };
		expect(impossibleSpeed(sloppy, moved(sloppy, 100, 1), policy)).toBeUndefined();
		// The same jump from precise fixes leaves 90 m to cover in a second.
		expect(impossibleSpeed(start, moved(start, 100, 1), policy)?.evidence).toMatchObject({ distanceM: 100, requiredDistanceM: 90, speedMps: 90 });
		// Each fix's own radius counts: 100 + 60 of the 230 m are allowance, 70 m in a second is the limit.
		const imprecise = { ...start, accuracy: 100 };
		expect(impossibleSpeed(imprecise, moved(imprecise, 229, 1, 60), policy)).toBeUndefined();
		expect(impossibleSpeed(imprecise, moved(imprecise, 231, 1, 60), policy)?.evidence).toMatchObject({ requiredDistanceM: 71, speedMps: 71 });
	});

	it("allows exactly the limit and flags a centimetre more", () => {
		const exact = { ...start, accuracy: 0 };
		const fix = moved(exact, 700, 10);
		const limit = { maxSpeedMps: distanceM(exact, fix) / 10, clockSkewMs: 30_000 };
		expect(impossibleSpeed(exact, fix, limit)).toBeUndefined();
		expect(impossibleSpeed(exact, moved(exact, 700.01, 10), limit)?.code).toBe("IMPOSSIBLE_SPEED");
	});

	it("flags two places at the same instant as infinitely fast, but not one place reported twice", () => {
		expect(impossibleSpeed(start, moved(start, 50, 0), policy)?.evidence).toMatchObject({ requiredDistanceM: 40, seconds: 0, speedMps: "Infinity" });
		expect(impossibleSpeed(start, moved(start, 8, 0), policy)).toBeUndefined();
		expect(impossibleSpeed(start, { ...start }, policy)).toBeUndefined();
	});

	it("leaves a fix dated before the previous one to the time rule", () => {
		expect(impossibleSpeed(start, moved(start, 5_000, -1), policy)).toBeUndefined();
	});
	it("counts no more time than the server saw pass (plus the allowed skew), whatever the phone's clock says", () => {
		const receivedAt = Date.parse("2026-06-01T10:00:00Z");
		const before = { ...start, accuracy: 5, receivedAt };
		// Dated a day later, received 10 s later: 5 km in (10 + 30) s, not in a day.
		const dayLater = { ...moved(before, 5_000, 86_400), receivedAt: receivedAt + 10_000 };
		expect(impossibleSpeed(before, dayLater, policy)?.evidence).toMatchObject({ seconds: 40, phoneSeconds: 86_400 });
		// Buffered reports arriving together: a few metres apart each, within the skew allowance.
		const buffered = { ...moved(before, 60, 50), receivedAt: receivedAt + 1_000 };
		expect(impossibleSpeed(before, buffered, policy)).toBeUndefined();
		// Without the server's times (older history), the phone's clock is all there is.
		expect(impossibleSpeed({ ...before, receivedAt: undefined }, dayLater, policy)).toBeUndefined();
	});
});
