/**
 * A hunt's analytics as its partner reads them, from the facts the projection keeps: one line per
 * clue of the hunt, in the hunt's order, clues nobody found included (a clue nobody finds is what a
 * partner most needs to see), and the time to a discovery as the median, which one player who left
 * for lunch cannot drag the way an average would.
 */

export interface HuntCounts {
	/** Participations ever started. */
	joined: number;
	/** Currently active (playing, or reinstated after a review). */
	active: number;
	/** Reached a finish; those closed by time running out are not counted. */
	completed: number;
	/** Had at least one fix flagged by the anti-cheat rules. */
	flagged: number;
}

export interface ClueFacts {
	/** Per discovery, ms from the player's joining to it. */
	msToDiscover: readonly number[];
	hintsUsed: number;
	wrongAnswers: number;
}

export interface ClueReport {
	clueId: string;
	title: string;
	discovered: number;
	medianMinutesToDiscover: number | null;
	hintsUsed: number;
	wrongAnswers: number;
}

export interface HuntReport extends HuntCounts {
	clues: ClueReport[];
}

/** The middle value (the mean of the two middle ones for an even count); null for none. */
export function median(values: readonly number[]): number | null {
	if (!values.length) return null;
	const sorted = [...values].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Milliseconds as minutes to one decimal. */
export function minutesOf(ms: number): number {
	return Math.round(ms / 6_000) / 10;
}

/**
 * The report: `clues` are the hunt's, in its order, with their current titles; facts about a clue
 * the hunt no longer has are left out.
 */
export function huntReport(counts: HuntCounts, clues: ReadonlyArray<{ id: string; title: string }>, facts: ReadonlyMap<string, ClueFacts>): HuntReport {
	return {
		...counts,
		clues: clues.map(clue => {
			const found = facts.get(clue.id.toLowerCase());
			const middle = median(found?.msToDiscover ?? []);
			return {
				clueId: clue.id,
				title: clue.title,
				discovered: found?.msToDiscover.length ?? 0,
				medianMinutesToDiscover: middle === null ? null : minutesOf(middle),
				hintsUsed: found?.hintsUsed ?? 0,
				wrongAnswers: found?.wrongAnswers ?? 0,
			};
		}),
	};
}
