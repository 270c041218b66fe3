/**
 * A participation's lifecycle, the one place that says which change is allowed from which state:
 *
 *   active ──complete──▶ completed          (a finish clue reached)
 *   active ──close─────▶ completed          (time ran out first: the player's limit or the hunt's end)
 *   active ──suspend───▶ suspended          (repeated cheat flags; waits for an admin's review)
 *   suspended ──reinstate──▶ active         (the review found the flags honest)
 *   suspended ──disqualify──▶ disqualified  (the review upheld them: off the leaderboard for good)
 *
 * Only an active participation plays: reports positions, answers, takes hints.
 */
import { AppError } from "../../platform/errors/app-error";

export type ParticipationState = "active" | "completed" | "suspended" | "disqualified";
export type ParticipationTransition = "complete" | "close" | "suspend" | "reinstate" | "disqualify";

const TRANSITIONS: Record<ParticipationTransition, { from: ParticipationState; to: ParticipationState }> = {
	complete: { from: "active", to: "completed" },
	close: { from: "active", to: "completed" },
	suspend: { from: "active", to: "suspended" },
	reinstate: { from: "suspended", to: "active" },
	disqualify: { from: "suspended", to: "disqualified" },
};

/** The state after `transition`, or 409 PARTICIPATION_STATE naming what is possible. */
export function nextParticipationState(current: ParticipationState, transition: ParticipationTransition): ParticipationState {
	const rule = TRANSITIONS[transition];
	if (rule.from !== current)
		throw new AppError("PARTICIPATION_STATE", `${article(current)} ${current} participation cannot ${transition}`, { state: current, allowed: allowedParticipationTransitions(current) });
	return rule.to;
}

export function allowedParticipationTransitions(current: ParticipationState): ParticipationTransition[] {
	return (Object.keys(TRANSITIONS) as ParticipationTransition[]).filter(name => TRANSITIONS[name].from === current);
}

/** Positions, answers and hints: 409 PARTICIPATION_STATE unless the participation is active. */
export function assertPlaying(current: ParticipationState): void {
	if (current !== "active") throw new AppError("PARTICIPATION_STATE", `${article(current)} ${current} participation does not play`, { state: current });
}

/** Who the leaderboard ranks: a disqualified player leaves it, a suspended one stays until the review. */
export function isRanked(state: ParticipationState): boolean {
	return state !== "disqualified";
}

const article = (state: ParticipationState) => (state === "active" ? "An" : "A");
