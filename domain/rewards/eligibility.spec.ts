import { eligibility, type RankedParticipation } from "./eligibility";

const ENDS = Date.UTC(2026, 5, 1, 18, 0);
const hunt = { endsAt: ENDS };
const at = (minute: number) => new Date(Date.UTC(2026, 5, 1, 10, minute)).toISOString();
const finisher = (playerId: string, minute: number, score = 100): RankedParticipation => ({ participationId: `p-${playerId}`, playerId, state: "completed", score, completedAt: at(minute) });
const walking = (playerId: string, score = 10): RankedParticipation => ({ participationId: `p-${playerId}`, playerId, state: "active", score, completedAt: null });

describe("reward eligibility", () => {
	const field = [finisher("ann", 5), finisher("bob", 7), finisher("cid", 6), walking("dan"), { ...walking("eve", 40), state: "completed" as const }];

	it("gives first_finishers n to the first n to reach a finish, in finish order", () => {
		const rule = { kind: "first_finishers" as const, n: 2 };
		expect(eligibility(rule, "ann", field, hunt, ENDS - 1)).toEqual({ eligible: true });
		expect(eligibility(rule, "cid", field, hunt, ENDS - 1)).toEqual({ eligible: true });
		expect(eligibility(rule, "bob", field, hunt, ENDS - 1)).toEqual({ eligible: false, because: "NOT_AMONG_FIRST" });
		expect(eligibility(rule, "dan", field, hunt, ENDS - 1)).toEqual({ eligible: false, because: "NOT_FINISHED" });
		// Closed by time running out is not a finish.
		expect(eligibility(rule, "eve", field, hunt, ENDS - 1)).toEqual({ eligible: false, because: "NOT_FINISHED" });
		expect(eligibility(rule, "zoe", field, hunt, ENDS - 1)).toEqual({ eligible: false, because: "NOT_PLAYING" });
	});

	it("orders finishes at the same instant by participation, and lets a disqualified finisher make room", () => {
		const tied = [finisher("bob", 5), finisher("ann", 5), finisher("cid", 6)];
		const rule = { kind: "first_finishers" as const, n: 1 };
		expect(tied.map(p => eligibility(rule, p.playerId, tied, hunt, 0).eligible)).toEqual([false, true, false]);
		const ruled = [{ ...tied[1], state: "disqualified" as const }, tied[0], tied[2]];
		expect(eligibility(rule, "ann", ruled, hunt, 0)).toEqual({ eligible: false, because: "DISQUALIFIED" });
		expect(eligibility(rule, "bob", ruled, hunt, 0)).toEqual({ eligible: true });
	});

	it("gives all_finishers to every finisher, and nobody under review", () => {
		const rule = { kind: "all_finishers" as const };
		expect(["ann", "bob", "cid"].map(player => eligibility(rule, player, field, hunt, 0).eligible)).toEqual([true, true, true]);
		const reviewed = [{ ...finisher("ann", 5), state: "suspended" as const }];
		expect(eligibility(rule, "ann", reviewed, hunt, 0)).toEqual({ eligible: false, because: "UNDER_REVIEW" });
	});

	it("gives top n only once the hunt is over, by the final ranking, ties sharing a rank", () => {
		const board = [finisher("ann", 5, 90), finisher("bob", 9, 120), walking("cid", 90), finisher("dan", 5, 90), walking("eve", 200)];
		const rule = { kind: "top" as const, n: 2 };
		expect(eligibility(rule, "eve", board, hunt, ENDS - 1)).toEqual({ eligible: false, because: "HUNT_NOT_OVER" });
		expect(eligibility(rule, "eve", board, hunt, ENDS)).toEqual({ eligible: true });
		expect(eligibility(rule, "bob", board, hunt, ENDS)).toEqual({ eligible: true });
		// Ann and Dan share third place; Cid (same score, no finish) comes after them.
		expect(eligibility({ kind: "top", n: 3 }, "ann", board, hunt, ENDS)).toEqual({ eligible: true });
		expect(eligibility({ kind: "top", n: 3 }, "dan", board, hunt, ENDS)).toEqual({ eligible: true });
		expect(eligibility({ kind: "top", n: 4 }, "cid", board, hunt, ENDS)).toEqual({ eligible: false, because: "NOT_IN_TOP" });
		expect(eligibility({ kind: "top", n: 5 }, "cid", board, hunt, ENDS)).toEqual({ eligible: true });
	});
});
