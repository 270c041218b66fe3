/**
 * When flags suspend a participation. One flag can be an honest glitch (a GPS jump under a bridge, a
 * phone clock resynchronising); several in a short time are a pattern a moderator should look at
 * before the player goes on.
 */

export interface SuspensionPolicy {
	flagsToSuspend: number;
	flagWindowMs: number;
}

// Three in ten minutes: two glitches in a row are still believable, a third within the time it takes
// to walk between two clues is not.
export const DEFAULT_SUSPENSION_POLICY: SuspensionPolicy = { flagsToSuspend: 3, flagWindowMs: 10 * 60_000 };

/**
 * Whether the flag being raised at `now` (the server's clock, epoch ms) suspends the participation.
 * `flagTimes` holds the earlier flags only: the new one is counted here, so no caller counts it twice
 * or forgets it. Give one time per flagged fix, not per flag: a fix both replayed and too fast is one
 * incident. A flag exactly `flagWindowMs` old is still inside the window; one stamped after `now` counts
 * too, as it comes from another server node whose clock runs a little ahead, not from the phone.
 */
export function shouldSuspend(flagTimes: readonly number[], now: number, policy: SuspensionPolicy = DEFAULT_SUSPENSION_POLICY): boolean {
	const earlierInWindow = flagTimes.filter(at => now - at <= policy.flagWindowMs).length;
	return earlierInWindow + 1 >= policy.flagsToSuspend;
}
