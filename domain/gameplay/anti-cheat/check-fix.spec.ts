import { destination } from "../../hunts/geo";
import { checkFix, FIX_CHECKS, historyAfter } from "./check-fix";
import { DEFAULT_ANTI_CHEAT_POLICY } from "./fix";
import type { Fix, FixHistory } from "./fix";
import { fixFingerprint } from "./replayed-fix";

const EAST = Math.PI / 2;
const t0 = Date.parse("2025-06-01T10:00:00Z");
const origin: Fix = { lat: 48.8584, lon: 2.2945, accuracy: 5, recordedAt: t0 };
/** A fix `metres` east of the origin, `seconds` after it. */
const at = (metres: number, seconds: number): Fix => ({ ...destination(origin, metres, EAST), accuracy: 5, recordedAt: t0 + seconds * 1000 });
const codes = (history: FixHistory, fix: Fix, now: number) => checkFix(history, fix, now).map(flag => flag.code);

/** Checks each fix as it arrives, the server's clock two seconds behind the phone's, and keeps the history as the caller would. */
function play(fixes: Fix[], history: FixHistory = { recent: [] }) {
	const flagged: string[][] = [];
	for (const fix of fixes) {
		const flags = checkFix(history, fix, fix.recordedAt + 2_000);
		flagged.push(flags.map(flag => flag.code));
		history = historyAfter(history, fix, flags);
	}
	return { flagged, history };
}

describe("check fix", () => {
	it("has one rule for every flag code of the contract, each raising its own code", () => {
		expect(FIX_CHECKS.map(rule => rule.code)).toEqual(["REPLAYED_FIX", "FUTURE_TIMESTAMP", "TIME_WENT_BACKWARDS", "IMPOSSIBLE_SPEED"]);
		const replayed = at(0, 0);
		const history = { lastAccepted: at(500, 60), recent: [fixFingerprint(replayed)] };
		for (const rule of FIX_CHECKS) {
			const raised = [replayed, { ...at(0, 1), recordedAt: t0 + 3_600_000 }, at(490, 59), at(100_000, 61)].map(
				fix => rule.check({ history, fix, now: t0 + 62_000, policy: DEFAULT_ANTI_CHEAT_POLICY })?.code,
			);
			expect(raised.filter(Boolean)).toContain(rule.code);
			expect(raised.filter(code => code && code !== rule.code)).toEqual([]);
		}
	});

	it("raises nothing on an honest walk, from the first fix on", () => {
		const { flagged, history } = play([at(0, 0), at(7, 5), at(14, 10), at(20, 15)]);
		expect(flagged).toEqual([[], [], [], []]);
		expect(history.lastAccepted).toEqual(at(20, 15));
		expect(history.recent).toEqual([at(0, 0), at(7, 5), at(14, 10), at(20, 15)].map(fixFingerprint));
	});

	it("uses the default policy when given none", () => {
		const history = { lastAccepted: at(0, 0), recent: [fixFingerprint(at(0, 0))] };
		expect(checkFix(history, at(1_010, 10), t0 + 10_000)).toEqual([
			{ code: "IMPOSSIBLE_SPEED", evidence: { distanceM: 1_010, requiredDistanceM: 1_000, seconds: 10, phoneSeconds: 10, speedMps: 100, maxSpeedMps: DEFAULT_ANTI_CHEAT_POLICY.maxSpeedMps } },
		]);
	});

	it("returns every flag raised, replay first and speed last", () => {
		const history = { lastAccepted: at(0, 0), recent: [at(0, 0), at(5, 5), at(10, 60)].map(fixFingerprint) };
		// 50 s ahead of the server, at the instant of a fix already received, and 5 km away.
		expect(codes(history, at(5_000, 60), t0 + 10_000)).toEqual(["REPLAYED_FIX", "FUTURE_TIMESTAMP", "IMPOSSIBLE_SPEED"]);
		// An old fix sent again: time going backwards leaves speed out of it.
		const later = { lastAccepted: at(10, 10), recent: [at(0, 0), at(5, 5), at(10, 10)].map(fixFingerprint) };
		expect(codes(later, at(5, 5), t0 + 10_000)).toEqual(["REPLAYED_FIX", "TIME_WENT_BACKWARDS"]);
		// The last fix was accepted by a node whose clock ran ahead of this one's.
		expect(codes({ lastAccepted: at(0, 120), recent: [] }, at(0, 100), t0 + 60_000)).toEqual(["FUTURE_TIMESTAMP", "TIME_WENT_BACKWARDS"]);
	});

	it("never accepts a flagged fix, but remembers it", () => {
		const history = { lastAccepted: at(0, 0), recent: [fixFingerprint(at(0, 0))] };
		const teleport = at(5_000, 5);
		const flags = checkFix(history, teleport, t0 + 5_000);
		expect(flags).not.toEqual([]);
		expect(historyAfter(history, teleport, flags)).toEqual({ lastAccepted: at(0, 0), recent: [at(0, 0), teleport].map(fixFingerprint) });
	});

	it("costs a wild GPS jump one flag: the next fix is measured from the last accepted one", () => {
		const { flagged, history } = play([at(0, 0), at(7, 5), at(3_000, 10), at(20, 15), at(27, 20)]);
		expect(flagged).toEqual([[], [], ["IMPOSSIBLE_SPEED"], [], []]);
		expect(history.lastAccepted).toEqual(at(27, 20));
	});

	it("keeps flagging a spoofed position until the player could really have got there", () => {
		const { flagged } = play([at(0, 0), at(5_000, 5), at(5_000, 10), at(5_000, 30), at(5_000, 80)]);
		// 4,990 m at 70 m/s takes 71.3 s: only the fix at 80 s is believable.
		expect(flagged).toEqual([[], ["IMPOSSIBLE_SPEED"], ["IMPOSSIBLE_SPEED"], ["IMPOSSIBLE_SPEED"], []]);
	});
});
