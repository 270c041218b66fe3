/**
 * A clue's hints are given in the order the partner wrote them, one per request, each costing its
 * points (scoring.ts). Taking a hint is final: it is counted before the player sees it.
 */
import { AppError } from "../../platform/errors/app-error";

export interface Hint {
	text: string;
	cost: number;
}

/** The next hint after `taken` of them, or 409 NO_MORE_HINTS once all were taken. */
export function nextHint(hints: readonly Hint[], taken: number): Hint {
	const hint = hints[taken];
	if (!hint)
		throw new AppError("NO_MORE_HINTS", hints.length ? `All ${hints.length} hints of this clue were taken` : "This clue has no hints", {
			taken: Math.min(taken, hints.length),
			available: hints.length,
		});
	return hint;
}
