/**
 * The edges of discovery are where players argue: a fix on the geofence's edge, one exactly as precise
 * as the limit, a tiny geofence, overlapping ones, a clue across the antimeridian.
 */
import { destination, distanceM } from "../hunts/geo";
import { DEFAULT_MAX_ACCURACY_M, evaluateFix, type Target } from "./discovery";

const EAST = Math.PI / 2;
const NORTH = 0;
const fountain = { lat: 48.8584, lon: 2.2945 };
const target = (clueId: string, position = fountain, radiusM = 20): Target => ({ clueId, position, radiusM });
/** A fix `metres` from `from` along `bearing`, `accuracy` metres precise. */
const fixAt = (from: { lat: number; lon: number }, metres: number, bearing = EAST, accuracy = 8) => ({ ...destination(from, metres, bearing), accuracy });

describe("discovery", () => {
	it("discovers a clue from inside its geofence, not from outside", () => {
		expect(evaluateFix(fixAt(fountain, 0), [target("a")])).toEqual({ outcome: "discovered", clueIds: ["a"] });
		expect(evaluateFix(fixAt(fountain, 19), [target("a")])).toEqual({ outcome: "discovered", clueIds: ["a"] });
		expect(evaluateFix(fixAt(fountain, 21), [target("a")])).toEqual({ outcome: "nothing" });
	});

	it("counts a fix exactly on the geofence's edge as inside, and a centimetre beyond as outside", () => {
		const fix = fixAt(fountain, 20, NORTH);
		const edge = target("a", fountain, distanceM(fix, fountain));
		expect(evaluateFix(fix, [edge])).toEqual({ outcome: "discovered", clueIds: ["a"] });
		expect(evaluateFix(fixAt(fountain, 20.01, NORTH), [edge])).toEqual({ outcome: "nothing" });
	});

	it("accepts a fix exactly as precise as the limit and finds nothing with a rougher one, even inside a geofence", () => {
		expect(evaluateFix(fixAt(fountain, 0, EAST, DEFAULT_MAX_ACCURACY_M), [target("a")])).toEqual({ outcome: "discovered", clueIds: ["a"] });
		expect(evaluateFix(fixAt(fountain, 0, EAST, DEFAULT_MAX_ACCURACY_M + 0.1), [target("a")])).toEqual({ outcome: "inaccurate" });
		expect(evaluateFix(fixAt(fountain, 0, EAST, 12), [target("a")], 10)).toEqual({ outcome: "inaccurate" });
	});

	it("calls a rough fix inaccurate wherever the clues are, or whether there are any", () => {
		const rough = fixAt(fountain, 0, EAST, 80);
		expect(evaluateFix(rough, [target("a")])).toEqual({ outcome: "inaccurate" });
		expect(evaluateFix(rough, [target("far", destination(fountain, 5_000, NORTH))])).toEqual({ outcome: "inaccurate" });
		expect(evaluateFix(rough, [])).toEqual({ outcome: "inaccurate" });
	});

	it("lets a fix less precise than a tiny geofence discover it, as long as its position is inside", () => {
		const tiny = target("tiny", fountain, 5);
		expect(evaluateFix(fixAt(fountain, 4, EAST, 12), [tiny])).toEqual({ outcome: "discovered", clueIds: ["tiny"] });
		expect(evaluateFix(fixAt(fountain, 6, EAST, 3), [tiny])).toEqual({ outcome: "nothing" });
	});

	it("discovers every geofence holding the fix at once, in clue-id order", () => {
		const westOfFountain = destination(fountain, 15, -EAST);
		const targets = [target("west", westOfFountain, 20), target("fountain", fountain, 10), target("elsewhere", destination(fountain, 100, NORTH))];
		expect(evaluateFix(fixAt(fountain, 3), targets)).toEqual({ outcome: "discovered", clueIds: ["fountain", "west"] });
		expect(evaluateFix(fixAt(fountain, 3), [target("b"), target("B"), target("a")])).toEqual({ outcome: "discovered", clueIds: ["B", "a", "b"] });
	});

	it("finds nothing when there is nothing to look for", () => {
		expect(evaluateFix(fixAt(fountain, 0), [])).toEqual({ outcome: "nothing" });
	});

	it("measures along the sphere, so a geofence across the antimeridian holds fixes on both sides", () => {
		const dateLine = { lat: -16.78, lon: 179.9999 };
		const acrossTheLine = fixAt(dateLine, 25, EAST);
		expect(acrossTheLine.lon).toBeLessThan(-179.99);
		expect(evaluateFix(acrossTheLine, [target("fiji", dateLine, 30)])).toEqual({ outcome: "discovered", clueIds: ["fiji"] });
		expect(evaluateFix(fixAt(dateLine, 35, EAST), [target("fiji", dateLine, 30)])).toEqual({ outcome: "nothing" });
		// Seen from the other side: a clue just west of the line, a fix just east of it.
		const eastSide = { lat: -16.78, lon: -179.9999 };
		expect(evaluateFix({ ...eastSide, accuracy: 5 }, [target("fiji", dateLine, 30)])).toEqual({ outcome: "discovered", clueIds: ["fiji"] });
	});
});
