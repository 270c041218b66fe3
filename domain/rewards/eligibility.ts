/**
 * Who may claim a reward, from the hunt's participations as the gameplay service records them
 * (PRODUCT.md: `rule: { kind: "first_finishers" | "all_finishers" | "top", n? }`):
 * - `first_finishers` n: the first n players to reach a finish, in finish order (a participation
 *   closed by time running out did not finish); equal finish instants are ordered by participation
 *   id, so the n are always the same n;
 * - `all_finishers`: everyone who reached a finish;
 * - `top` n: once the hunt is over, the players ranked n or better on its final leaderboard (by
 *   score, then finish time; players tied share a rank, so more than n may qualify, and the stock
 *   decides among them: the first to claim).
 * A disqualified player is never eligible; a suspended one is not while the review is pending.
 * Pure: the caller reads the participations and the hunt's end, and says what `now` is.
 */
export type RewardRule = { kind: "first_finishers"; n: number } | { kind: "all_finishers" } | { kind: "top"; n: number };

export interface RankedParticipation {
	participationId: string;
	playerId: string;
	state: "active" | "completed" | "suspended" | "disqualified";
	score: number;
	/** When a finish was reached (absent for one closed by time running out). */
	completedAt: string | null;
}

export type Ineligibility = "NOT_PLAYING" | "NOT_FINISHED" | "NOT_AMONG_FIRST" | "HUNT_NOT_OVER" | "NOT_IN_TOP" | "UNDER_REVIEW" | "DISQUALIFIED";

export type Eligibility = { eligible: true } | { eligible: false; because: Ineligibility };

/**
 * Where a player stands among a hunt's participations, as much as any rule needs: their own
 * participation, how many finished before them (`finishOrder`) and how many rank above them on the
 * leaderboard (`rankOrder`), disqualified players counting in neither. The gameplay service counts
 * these in SQL (`gameplay.standingOf`) to the same definitions, held to `standingAmong` by its spec.
 */
export interface PlayerStanding {
	mine: RankedParticipation;
	finishedAhead: number;
	rankedAhead: number;
}

export function standingAmong(participations: readonly RankedParticipation[], playerId: string): PlayerStanding | undefined {
	const mine = participations.find(participation => participation.playerId === playerId);
	if (!mine) return undefined;
	const others = participations.filter(other => other !== mine && other.state !== "disqualified");
	return {
		mine,
		finishedAhead: finished(mine) ? others.filter(other => finished(other) && finishOrder(other, mine) < 0).length : 0,
		rankedAhead: others.filter(other => rankOrder(other, mine) < 0).length,
	};
}

export function eligibility(rule: RewardRule, playerId: string, participations: readonly RankedParticipation[], hunt: { endsAt: number }, now: number): Eligibility {
	return eligibilityOf(rule, standingAmong(participations, playerId), hunt, now);
}

export function eligibilityOf(rule: RewardRule, standing: PlayerStanding | undefined, hunt: { endsAt: number }, now: number): Eligibility {
	if (!standing) return { eligible: false, because: "NOT_PLAYING" };
	const { mine } = standing;
	if (mine.state === "disqualified") return { eligible: false, because: "DISQUALIFIED" };
	if (mine.state === "suspended") return { eligible: false, because: "UNDER_REVIEW" };
	switch (rule.kind) {
		case "all_finishers":
			return finished(mine) ? { eligible: true } : { eligible: false, because: "NOT_FINISHED" };
		case "first_finishers":
			if (!finished(mine)) return { eligible: false, because: "NOT_FINISHED" };
			return standing.finishedAhead < rule.n ? { eligible: true } : { eligible: false, because: "NOT_AMONG_FIRST" };
		case "top":
			if (now < hunt.endsAt) return { eligible: false, because: "HUNT_NOT_OVER" };
			return standing.rankedAhead + 1 <= rule.n ? { eligible: true } : { eligible: false, because: "NOT_IN_TOP" };
	}
}

function finished(participation: RankedParticipation): boolean {
	return participation.state === "completed" && participation.completedAt !== null;
}

/** Earlier finish first; the same instant by participation id. */
function finishOrder(a: RankedParticipation, b: RankedParticipation): number {
	return Date.parse(a.completedAt!) - Date.parse(b.completedAt!) || (a.participationId < b.participationId ? -1 : a.participationId > b.participationId ? 1 : 0);
}

/** The leaderboard's order: higher score, then an earlier finish, then a finisher before one who did not; equal ranks compare 0. */
function rankOrder(a: RankedParticipation, b: RankedParticipation): number {
	if (a.score !== b.score) return b.score - a.score;
	const aFinish = a.completedAt ? Date.parse(a.completedAt) : Infinity;
	const bFinish = b.completedAt ? Date.parse(b.completedAt) : Infinity;
	// Whole seconds, as the leaderboard ranks them.
	return Math.floor(aFinish / 1000) - Math.floor(bFinish / 1000) || 0;
}
