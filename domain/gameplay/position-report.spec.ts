import { destination, type LatLon } from "../hunts/geo";
import type { Fix } from "./anti-cheat/fix";
import { fixFingerprint } from "./anti-cheat/replayed-fix";
import { compilePlayGraph } from "./opening";
import { decideReport, targetsOf, type ParticipationSnapshot, type PlayHunt } from "./position-report";

const NORTH = 0;
const origin: LatLon = { lat: 48.8584, lon: 2.2945 };
const north = (metres: number) => destination(origin, metres, NORTH);
const t0 = Date.parse("2026-06-01T10:00:00Z");

/** A hunt of clues north of the origin, joined by `paths`; a clue's geofence is 20 m unless given. */
function hunt(clues: Array<{ id: string; metresNorth: number; radiusM?: number; challenge?: boolean }>, paths: Array<[string, string]>): PlayHunt {
	return {
		graph: compilePlayGraph({ clueIds: clues.map(clue => clue.id), paths: paths.map(([from, to]) => ({ from, to })) }),
		clues: new Map(clues.map(clue => [clue.id, { clueId: clue.id, position: north(clue.metresNorth), radiusM: clue.radiusM ?? 20, hasChallenge: clue.challenge ?? false }])),
	};
}

const fresh = (overrides: Partial<ParticipationSnapshot> = {}): ParticipationSnapshot => ({
	state: "active",
	discovered: new Set(),
	solved: new Set(),
	history: { recent: [] },
	flagTimes: [],
	...overrides,
});
const fixAt = (metresNorth: number, seconds: number, accuracy = 8): Fix => ({ ...north(metresNorth), accuracy, recordedAt: t0 + seconds * 1000 });

/** Reports each fix in turn, keeping what the caller would keep. */
function walk(play: PlayHunt, fixes: Fix[], start = fresh()) {
	let participation = start;
	const outcomes: string[] = [];
	for (const fix of fixes) {
		const decision = decideReport(play, participation, fix, fix.recordedAt + 1_000);
		outcomes.push(decision.outcome);
		participation = {
			...participation,
			history: decision.history,
			discovered: new Set([...participation.discovered, ...decision.discovered]),
			flagTimes: decision.flags.length ? [...participation.flagTimes, fix.recordedAt] : participation.flagTimes,
		};
	}
	return { outcomes, participation };
}

const linear = hunt(
	[
		{ id: "a", metresNorth: 100 },
		{ id: "b", metresNorth: 400 },
		{ id: "c", metresNorth: 700 },
	],
	[
		["a", "b"],
		["b", "c"],
	],
);

describe("decideReport", () => {
	it("walks a linear hunt: nothing on the way, each clue on arrival, completed at the last", () => {
		// About 1.4 m/s, a walk.
		const { outcomes, participation } = walk(linear, [fixAt(0, 0), fixAt(100, 70), fixAt(250, 180), fixAt(400, 290), fixAt(700, 510)]);
		expect(outcomes).toEqual(["nothing", "discovered", "nothing", "discovered", "completed"]);
		expect([...participation.discovered]).toEqual(["a", "b", "c"]);
	});

	it("never looks for a clue that is not open yet, even when standing on it", () => {
		const { outcomes, participation } = walk(linear, [fixAt(400, 0)]);
		expect(outcomes).toEqual(["nothing"]);
		expect(participation.discovered.size).toBe(0);
	});

	it("keeps the paths beyond a challenge closed until it is solved", () => {
		const withChallenge = hunt(
			[
				{ id: "a", metresNorth: 0, challenge: true },
				{ id: "b", metresNorth: 300 },
			],
			[["a", "b"]],
		);
		const discoveredA = fresh({ discovered: new Set(["a"]) });
		expect(targetsOf(withChallenge, discoveredA.discovered, discoveredA.solved)).toEqual([]);
		expect(decideReport(withChallenge, discoveredA, fixAt(300, 0), t0).outcome).toBe("nothing");
		const solvedA = { ...discoveredA, solved: new Set(["a"]) };
		expect(decideReport(withChallenge, solvedA, fixAt(300, 0), t0)).toMatchObject({ outcome: "completed", discovered: ["b"], complete: true });
	});

	it("finds nothing with a fix that is not precise enough, even inside a geofence", () => {
		const decision = decideReport(linear, fresh(), fixAt(100, 0, 80), t0);
		expect(decision).toMatchObject({ outcome: "inaccurate", discovered: [], flags: [] });
		expect(decision.history.lastAccepted).toBeUndefined();
	});

	it("discovers nothing with a flagged fix, and does not measure the next fix from it", () => {
		const start = fresh({ history: { lastAccepted: fixAt(0, 0), recent: [fixFingerprint(fixAt(0, 0))] } });
		// 700 m in 5 s.
		const decision = decideReport(linear, start, fixAt(700, 5), t0 + 6_000);
		expect(decision).toMatchObject({ outcome: "flagged", discovered: [], suspend: false, complete: false });
		expect(decision.flags.map(flag => flag.code)).toEqual(["IMPOSSIBLE_SPEED"]);
		expect(decision.history.lastAccepted).toEqual(fixAt(0, 0));
	});

	it("suspends at the third flagged fix within the window", () => {
		const flaggedTwice = fresh({ history: { lastAccepted: fixAt(0, 0), recent: [] }, flagTimes: [t0 + 1_000, t0 + 2_000] });
		expect(decideReport(linear, flaggedTwice, fixAt(5_000, 5), t0 + 6_000)).toMatchObject({ outcome: "flagged", suspend: true });
	});

	it("does not let a rough fix carry a player somewhere a precise one would have been flagged", () => {
		const { outcomes } = walk(linear, [fixAt(-3_000, 0), fixAt(100, 10, 5_000), fixAt(100, 20)]);
		// The rough fix 3 km away is only "inaccurate"; the precise one after it is measured from the
		// last precise fix, 3.1 km in 20 s.
		expect(outcomes).toEqual(["nothing", "inaccurate", "flagged"]);
	});

	it("finds the next clue at once when its geofence overlaps the one just found", () => {
		const overlapping = hunt(
			[
				{ id: "a", metresNorth: 0, radiusM: 30 },
				{ id: "b", metresNorth: 40, radiusM: 30 },
				{ id: "c", metresNorth: 900 },
			],
			[
				["a", "b"],
				["b", "c"],
			],
		);
		expect(decideReport(overlapping, fresh(), fixAt(20, 0), t0)).toMatchObject({ outcome: "discovered", discovered: ["a", "b"] });
	});

	it("completes a free-order hunt only at its last clue", () => {
		const freeOrder = hunt(
			[
				{ id: "a", metresNorth: 0 },
				{ id: "b", metresNorth: 300 },
			],
			[],
		);
		const { outcomes } = walk(freeOrder, [fixAt(300, 0), fixAt(0, 240)]);
		expect(outcomes).toEqual(["discovered", "completed"]);
	});

	it("answers a client's retry of its last report as nothing, without a flag or a change; an older fix sent again is a replay", () => {
		const { participation } = walk(linear, [fixAt(0, 0), fixAt(100, 70)]);
		const retry = decideReport(linear, participation, fixAt(100, 70), t0 + 75_000);
		expect(retry).toMatchObject({ outcome: "nothing", retry: true, flags: [], discovered: [] });
		expect(retry.history).toBe(participation.history);
		expect(decideReport(linear, participation, fixAt(0, 0), t0 + 76_000).flags.map(flag => flag.code)).toContain("REPLAYED_FIX");
	});

	it("does not let fixes dated days apart carry a player across the map", () => {
		// Both dated in the past, a day apart; the server saw ten seconds pass between them.
		const receivedAt = t0 + 3 * 86_400_000;
		const start = decideReport(linear, fresh(), fixAt(-5_000, 0), receivedAt);
		const jump = decideReport(linear, { ...fresh(), history: start.history }, fixAt(100, 86_400), receivedAt + 10_000);
		expect(jump).toMatchObject({ outcome: "flagged", discovered: [] });
		expect(jump.flags.map(flag => flag.code)).toEqual(["IMPOSSIBLE_SPEED"]);
	});

	it("refuses a report for a participation that does not play", () => {
		for (const state of ["completed", "suspended", "disqualified"] as const) {
			expect(() => decideReport(linear, fresh({ state }), fixAt(100, 0), t0)).toThrow(expect.objectContaining({ type: "PARTICIPATION_STATE" }));
		}
	});
});
