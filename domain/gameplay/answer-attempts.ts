/**
 * Wrong answers to a clue's challenge are rate-limited per participation and clue, so an answer
 * cannot be found by trying a dictionary, while a typo or two costs nothing. A wrong answer costs
 * no points (scoring.ts); it only counts here.
 */
export interface AttemptPolicy {
	/** Wrong answers allowed within the window before the next attempt must wait. */
	maxWrongAnswers: number;
	windowMs: number;
}

// Five tries in ten minutes: enough for spelling variants of one idea, far too few to enumerate.
export const DEFAULT_ATTEMPT_POLICY: AttemptPolicy = { maxWrongAnswers: 5, windowMs: 10 * 60_000 };

export type AttemptDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Whether another answer may be checked at `now` (epoch ms), given the times of the earlier wrong
 * answers to this clue. When refused, the wait lasts until the oldest wrong answer in the window
 * leaves it: the client gets it as Retry-After (429 TOO_MANY_ATTEMPTS).
 */
export function decideAttempt(wrongAnswerTimes: readonly number[], now: number, policy: AttemptPolicy = DEFAULT_ATTEMPT_POLICY): AttemptDecision {
	const inWindow = wrongAnswerTimes.filter(at => now - at < policy.windowMs).sort((a, b) => a - b);
	if (inWindow.length < policy.maxWrongAnswers) return { allowed: true };
	// The attempt that frees a slot is the one that makes the count drop below the limit.
	const freesSlotAt = inWindow[inWindow.length - policy.maxWrongAnswers] + policy.windowMs;
	return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((freesSlotAt - now) / 1000)) };
}
