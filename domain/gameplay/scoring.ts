/**
 * A participation's score, the one formula of the game:
 *
 *   score = Σ points of the clues discovered − Σ costs of the hints taken + time bonus, never below 0
 *
 *   time bonus (on completion only) = round(TIME_BONUS_SHARE × the hunt's clue points
 *                                           × max(0, 1 − time taken / reference time))
 *
 * The reference time is the hunt's time limit when it has one, DEFAULT_REFERENCE_MINUTES otherwise.
 * A finisher who took no time at all gets half the hunt's points again, one at the reference time
 * nothing: speed counts, but never more than finding the clues. Wrong answers cost no points (they
 * are rate-limited instead), so guessing is slowed down without making a typo expensive.
 */
export const TIME_BONUS_SHARE = 0.5;
export const DEFAULT_REFERENCE_MINUTES = 240;

export interface ScoreInput {
	/** Points of each clue discovered so far. */
	discoveredPoints: readonly number[];
	/** Cost of each hint taken so far. */
	hintCosts: readonly number[];
	/** Present once the participation completed. */
	completion?: {
		/** From joining to reaching a finish clue. */
		elapsedMs: number;
		/** Every clue's points in the hunt, found or not. */
		huntCluePoints: number;
		timeLimitMinutes?: number;
	};
}

export interface Score {
	total: number;
	cluePoints: number;
	hintCosts: number;
	timeBonus: number;
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

export function timeBonus(completion: NonNullable<ScoreInput["completion"]>): number {
	const referenceMs = (completion.timeLimitMinutes ?? DEFAULT_REFERENCE_MINUTES) * 60_000;
	const remainingShare = Math.max(0, 1 - Math.max(0, completion.elapsedMs) / referenceMs);
	return Math.round(TIME_BONUS_SHARE * completion.huntCluePoints * remainingShare);
}

export function score(input: ScoreInput): Score {
	const cluePoints = sum(input.discoveredPoints);
	const hintCosts = sum(input.hintCosts);
	const bonus = input.completion ? timeBonus(input.completion) : 0;
	// Hints may cost more than a player has found so far: the score bottoms out at zero rather
	// than going negative, which no leaderboard shows sensibly.
	return { total: Math.max(0, cluePoints - hintCosts + bonus), cluePoints, hintCosts, timeBonus: bonus };
}
