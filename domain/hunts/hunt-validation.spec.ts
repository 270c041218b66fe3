import { huntProblems, splitPaths } from "./hunt-validation";

const area = { lat: 48.8566, lon: 2.3522, radiusM: 1000 };
const now = new Date("2026-06-01T12:00:00Z");
const clue = (id: string, lat = area.lat, lon = area.lon) => ({ id, title: `Clue ${id}`, position: { lat, lon } });
const valid = { area, startsAt: "2026-05-01T00:00:00Z", endsAt: "2026-07-01T00:00:00Z", clues: [clue("a")] };

it("finds nothing wrong with a valid hunt, even one that started in the past", () => {
	expect(huntProblems(valid, [], [], now)).toEqual([]);
});

it("names every problem at once, with the clue concerned", () => {
	const problems = huntProblems(
		{ ...valid, endsAt: "2026-04-01T00:00:00Z", clues: [clue("a"), clue("b", 48.9, 2.5)] },
		[{ from: "a", to: "zzz" }],
		[{ code: "CYCLE", clueId: "a" }, { code: "NO_FINISH" }],
		now,
	);
	expect(problems.map(({ code, clueId }) => (clueId ? `${code}:${clueId}` : code))).toEqual(["BAD_WINDOW", "CLUE_OUTSIDE_AREA:b", "PATH_UNKNOWN_CLUE:zzz", "CYCLE:a", "NO_FINISH"]);
	expect(problems.every(problem => problem.message.length > 0)).toBe(true);
	expect(problems.find(problem => problem.code === "CYCLE")?.message).toContain("Clue a");
});

it("wants clues, and a window that ends in the future", () => {
	expect(huntProblems({ ...valid, clues: [] }, [], [], now).map(p => p.code)).toEqual(["NO_CLUES"]);
	expect(huntProblems({ ...valid, endsAt: "2026-06-01T11:00:00Z" }, [], [], now)).toEqual([expect.objectContaining({ code: "BAD_WINDOW", message: expect.stringContaining("over") })]);
});

it("sets apart the paths that name a clue the hunt does not have", () => {
	expect(
		splitPaths(new Set(["a", "b"]), [
			{ from: "a", to: "b" },
			{ from: "b", to: "c" },
			{ from: "d", to: "a" },
		]),
	).toEqual({
		known: [{ from: "a", to: "b" }],
		unknown: [
			{ from: "b", to: "c" },
			{ from: "d", to: "a" },
		],
	});
});
