import { huntReport, median, minutesOf } from "./hunt-report";

describe("median", () => {
	it("is the middle value of an odd count, whatever the order", () => {
		expect(median([9, 1, 5])).toBe(5);
		expect(median([7])).toBe(7);
	});

	it("is the mean of the two middle values of an even count", () => {
		expect(median([4, 1, 10, 2])).toBe(3);
	});

	it("is not dragged by one very slow value, unlike a mean", () => {
		expect(median([10, 11, 12, 10_000])).toBe(11.5);
	});

	it("is null for no value", () => {
		expect(median([])).toBeNull();
	});
});

describe("minutesOf", () => {
	it("gives minutes to one decimal", () => {
		expect(minutesOf(90_000)).toBe(1.5);
		expect(minutesOf(750_000)).toBe(12.5);
		expect(minutesOf(89_700)).toBe(1.5);
		expect(minutesOf(86_900)).toBe(1.4);
		expect(minutesOf(0)).toBe(0);
	});
});

describe("huntReport", () => {
	const counts = { joined: 3, active: 1, completed: 1, flagged: 1 };
	const clues = [
		{ id: "c1", title: "Hill" },
		{ id: "c2", title: "Bridge" },
		{ id: "c3", title: "Square" },
	];

	it("lists every clue of the hunt in its order, with zeros and no median for a clue nobody found", () => {
		const facts = new Map([
			["c2", { msToDiscover: [120_000, 60_000, 600_000], hintsUsed: 0, wrongAnswers: 0 }],
			["c1", { msToDiscover: [60_000, 90_000], hintsUsed: 2, wrongAnswers: 5 }],
		]);
		expect(huntReport(counts, clues, facts)).toEqual({
			...counts,
			clues: [
				{ clueId: "c1", title: "Hill", discovered: 2, medianMinutesToDiscover: 1.3, hintsUsed: 2, wrongAnswers: 5 },
				{ clueId: "c2", title: "Bridge", discovered: 3, medianMinutesToDiscover: 2, hintsUsed: 0, wrongAnswers: 0 },
				{ clueId: "c3", title: "Square", discovered: 0, medianMinutesToDiscover: null, hintsUsed: 0, wrongAnswers: 0 },
			],
		});
	});

	it("leaves out facts about a clue the hunt does not have", () => {
		const report = huntReport(counts, clues.slice(0, 1), new Map([["gone", { msToDiscover: [1], hintsUsed: 1, wrongAnswers: 1 }]]));
		expect(report.clues).toEqual([{ clueId: "c1", title: "Hill", discovered: 0, medianMinutesToDiscover: null, hintsUsed: 0, wrongAnswers: 0 }]);
	});
});
