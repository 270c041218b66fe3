/**
 * What one step of a participation (a `gameplay.progress` message) means to a hunt's analytics.
 * Every effect is a fact that holds once it happened (a clue found, a hint taken, a wrong answer, a
 * flag, a finish), so applying a step twice, or steps out of order, leaves the same facts. The one
 * thing that changes back and forth is the participation's state (active, suspended, reinstated
 * to active…): it is kept with the moment it was reached, and a step only replaces a state reached
 * earlier, so a late or repeated step never puts an older state back.
 */
import type { ProgressMessage } from "../../contracts/gameplay";

export type AnalyticsState = "active" | "completed" | "suspended" | "disqualified";

export interface StateAt {
	state: AnalyticsState;
	/** Epoch ms the state was reached. */
	at: number;
	/** Of two states reached in the same millisecond, the higher wins: a finish or a verdict is final. */
	rank: number;
}

export interface ProgressEffects {
	participationId: string;
	huntId: string;
	playerId: string;
	/** Epoch ms the player joined: the state every participation starts in is active, from then. */
	startedAt: number;
	state?: StateAt;
	/** A finish was reached (not time running out). */
	finishedAt?: number;
	closedBy?: "time_limit" | "hunt_end";
	flagged?: true;
	discovery?: { clueId: string; at: number; msFromStart: number };
	hint?: { clueId: string; at: number };
	wrongAnswer?: { clueId: string; at: number };
}

const STATE_RANK: Record<AnalyticsState, number> = { active: 0, suspended: 1, completed: 2, disqualified: 3 };

const stateAt = (state: AnalyticsState, at: number): StateAt => ({ state, at, rank: STATE_RANK[state] });

/** Whether `next` replaces `current`: reached later, or in the same millisecond and final. */
export function supersedes(next: StateAt, current: StateAt): boolean {
	return next.at > current.at || (next.at === current.at && next.rank > current.rank);
}

/**
 * The effects of one step; a step whose clue is missing (a malformed message) records only that
 * the participation exists.
 */
export function effectsOf(step: ProgressMessage): ProgressEffects {
	const at = Date.parse(step.at);
	const startedAt = Date.parse(step.startedAt);
	const effects: ProgressEffects = { participationId: step.participationId.toLowerCase(), huntId: step.huntId.toLowerCase(), playerId: step.playerId.toLowerCase(), startedAt };
	const clueId = step.clueId?.toLowerCase();
	switch (step.kind) {
		case "joined":
			effects.state = stateAt("active", startedAt);
			break;
		case "discovered":
			if (clueId) effects.discovery = { clueId, at, msFromStart: Math.max(0, at - startedAt) };
			break;
		case "hint_taken":
			if (clueId) effects.hint = { clueId, at };
			break;
		case "answered":
			if (clueId && step.correct === false) effects.wrongAnswer = { clueId, at };
			break;
		case "flagged":
			effects.flagged = true;
			break;
		case "completed":
			effects.state = stateAt("completed", at);
			effects.finishedAt = at;
			break;
		case "closed":
			effects.state = stateAt("completed", at);
			if (step.closedBy) effects.closedBy = step.closedBy;
			break;
		case "suspended":
			effects.state = stateAt("suspended", at);
			// Only flags suspend (and only the suspended are disqualified): the participation was flagged
			// even if a flag step itself never arrived (dead-lettered, say).
			effects.flagged = true;
			break;
		case "reinstated":
			effects.state = stateAt("active", at);
			break;
		case "disqualified":
			effects.state = stateAt("disqualified", at);
			effects.flagged = true;
			break;
	}
	return effects;
}
