import { isAppError } from "../../platform/errors/app-error";
import { allowedParticipationTransitions, assertPlaying, isRanked, nextParticipationState, type ParticipationState } from "./participation-lifecycle";

const STATES: ParticipationState[] = ["active", "completed", "suspended", "disqualified"];

describe("participation lifecycle", () => {
	it("completes, closes or suspends an active participation", () => {
		expect(nextParticipationState("active", "complete")).toBe("completed");
		expect(nextParticipationState("active", "close")).toBe("completed");
		expect(nextParticipationState("active", "suspend")).toBe("suspended");
	});

	it("lets a review reinstate or disqualify a suspended one", () => {
		expect(nextParticipationState("suspended", "reinstate")).toBe("active");
		expect(nextParticipationState("suspended", "disqualify")).toBe("disqualified");
	});

	it("refuses every other change with 409 PARTICIPATION_STATE naming what is allowed", () => {
		let refused = 0;
		for (const state of STATES) {
			for (const transition of ["complete", "close", "suspend", "reinstate", "disqualify"] as const) {
				if (allowedParticipationTransitions(state).includes(transition)) continue;
				refused++;
				try {
					nextParticipationState(state, transition);
					throw new Error(`${state} → ${transition} was allowed`);
				} catch (err) {
					expect(isAppError(err, "PARTICIPATION_STATE")).toBe(true);
					expect((err as { data?: unknown }).data).toEqual({ state, allowed: allowedParticipationTransitions(state) });
				}
			}
		}
		expect(refused).toBe(15);
	});

	it("has no way out of completed or disqualified", () => {
		expect(allowedParticipationTransitions("completed")).toEqual([]);
		expect(allowedParticipationTransitions("disqualified")).toEqual([]);
	});

	it("plays only while active", () => {
		expect(() => assertPlaying("active")).not.toThrow();
		for (const state of STATES.filter(s => s !== "active")) expect(() => assertPlaying(state)).toThrow(expect.objectContaining({ type: "PARTICIPATION_STATE" }));
	});

	it("keeps everyone but the disqualified on the leaderboard", () => {
		expect(STATES.filter(isRanked)).toEqual(["active", "completed", "suspended"]);
	});
});
