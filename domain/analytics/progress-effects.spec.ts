import type { ProgressMessage } from "../../contracts/gameplay";
import { effectsOf, supersedes } from "./progress-effects";

const step = (kind: ProgressMessage["kind"], extra: Partial<ProgressMessage> = {}): ProgressMessage => ({
	participationId: "8F0E6C52-3A4B-4C5D-9E6F-000000000001",
	huntId: "8f0e6c52-3a4b-4c5d-9e6f-0000000000aa",
	huntTitle: "Lyon trail",
	playerId: "8f0e6c52-3a4b-4c5d-9e6f-0000000000bb",
	kind,
	at: "2026-06-01T10:12:30.000Z",
	startedAt: "2026-06-01T10:00:00.000Z",
	score: 10,
	...extra,
});

const STARTED = Date.parse("2026-06-01T10:00:00.000Z");
const AT = Date.parse("2026-06-01T10:12:30.000Z");
const CLUE = "8f0e6c52-3a4b-4c5d-9e6f-0000000000cc";

describe("effectsOf", () => {
	it("makes every step name its participation (ids lower-cased), and a join active from the moment it started", () => {
		expect(effectsOf(step("joined", { at: "2026-06-01T10:00:00.000Z" }))).toEqual({
			participationId: "8f0e6c52-3a4b-4c5d-9e6f-000000000001",
			huntId: "8f0e6c52-3a4b-4c5d-9e6f-0000000000aa",
			playerId: "8f0e6c52-3a4b-4c5d-9e6f-0000000000bb",
			startedAt: STARTED,
			state: { state: "active", at: STARTED, rank: 0 },
		});
	});

	it("times a discovery from the player's joining", () => {
		expect(effectsOf(step("discovered", { clueId: CLUE.toUpperCase() })).discovery).toEqual({ clueId: CLUE, at: AT, msFromStart: 750_000 });
	});

	it("counts a wrong answer, and not a right one", () => {
		expect(effectsOf(step("answered", { clueId: CLUE, correct: false })).wrongAnswer).toEqual({ clueId: CLUE, at: AT });
		const right = effectsOf(step("answered", { clueId: CLUE, correct: true }));
		expect(right.wrongAnswer).toBeUndefined();
		expect(right.state).toBeUndefined();
	});

	it("records a hint on its clue", () => {
		expect(effectsOf(step("hint_taken", { clueId: CLUE })).hint).toEqual({ clueId: CLUE, at: AT });
	});

	it("tells a finish from time running out: both complete the participation, only the finish counts as one", () => {
		expect(effectsOf(step("completed"))).toMatchObject({ state: { state: "completed", at: AT }, finishedAt: AT });
		const closed = effectsOf(step("closed", { closedBy: "time_limit" }));
		expect(closed).toMatchObject({ state: { state: "completed", at: AT }, closedBy: "time_limit" });
		expect(closed.finishedAt).toBeUndefined();
	});

	it("marks a participation flagged by a flag, and by a suspension or disqualification (which only flags lead to)", () => {
		expect(effectsOf(step("flagged", { flags: ["IMPOSSIBLE_SPEED"] })).flagged).toBe(true);
		expect(effectsOf(step("suspended"))).toMatchObject({ state: { state: "suspended" }, flagged: true });
		expect(effectsOf(step("disqualified"))).toMatchObject({ state: { state: "disqualified" }, flagged: true });
		expect(effectsOf(step("reinstated"))).toMatchObject({ state: { state: "active", at: AT } });
		expect(effectsOf(step("reinstated")).flagged).toBeUndefined();
	});

	it("ignores a clue step without its clue rather than inventing one", () => {
		for (const kind of ["discovered", "hint_taken", "answered"] as const) {
			const effects = effectsOf(step(kind, { correct: false }));
			expect([effects.discovery, effects.hint, effects.wrongAnswer]).toEqual([undefined, undefined, undefined]);
		}
	});
});

describe("supersedes", () => {
	const active = { state: "active" as const, at: 1000, rank: 0 };
	it("lets a later state replace an earlier one, whatever they are, and never the reverse", () => {
		const suspended = { state: "suspended" as const, at: 2000, rank: 1 };
		const reinstated = { state: "active" as const, at: 3000, rank: 0 };
		expect(supersedes(suspended, active)).toBe(true);
		expect(supersedes(reinstated, suspended)).toBe(true);
		expect(supersedes(suspended, reinstated)).toBe(false);
		expect(supersedes(active, active)).toBe(false);
	});

	it("lets a final state win a tie in the same millisecond", () => {
		const completed = { state: "completed" as const, at: 1000, rank: 2 };
		expect(supersedes(completed, active)).toBe(true);
		expect(supersedes(active, completed)).toBe(false);
	});
});
