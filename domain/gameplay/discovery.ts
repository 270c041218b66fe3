/**
 * What one accepted position fix finds: the clues whose geofence holds the fix's position. The caller
 * has run the anti-cheat rules first, and chooses the targets: the clues the player may discover now,
 * one target per clue. Input validation has rejected NaN, Infinity and out-of-range coordinates.
 *
 * A clue counts when the fix's position lies inside its geofence, whatever its accuracy radius, as
 * long as the fix is precise enough at all (`maxAccuracyM`). Asking also for accuracy within the
 * clue's own radius would make a 5 m geofence (the smallest a designer may draw) almost impossible to
 * find: phones rarely report better than 5 m even under open sky. The position itself being inside
 * is what a designer who drew 5 m asks for; a rougher fix gets there by luck now and then, not as a
 * rule, and the accuracy is the phone's word anyway, which a cheater would simply set low.
 */
import { distanceM } from "../hunts/geo";
import type { Fix } from "./anti-cheat/fix";

export interface Target {
	clueId: string;
	position: { lat: number; lon: number };
	radiusM: number;
}

/**
 * A phone on GPS under open sky reports 3 to 10 m, 10 to 30 m between city buildings; past 50 m it
 * has usually fallen back on Wi-Fi or cell towers, whose position can be a street away. Such a fix is
 * not enough to say a player stood within a clue's geofence (typically tens of metres), so it finds
 * nothing; the player waits for a better one.
 */
export const DEFAULT_MAX_ACCURACY_M = 50;

export type FixOutcome = { outcome: "inaccurate" } | { outcome: "nothing" } | { outcome: "discovered"; clueIds: string[] };

/**
 * A fix exactly `maxAccuracyM` precise is still precise enough, one exactly `radiusM` from a clue
 * still inside. Discovered clues come in clue-id order (code-unit order, as the clue graph's lists).
 */
export function evaluateFix(fix: Pick<Fix, "lat" | "lon" | "accuracy">, targets: readonly Target[], maxAccuracyM = DEFAULT_MAX_ACCURACY_M): FixOutcome {
	// Decided before looking at any target: were "inaccurate" kept for rough fixes near a clue, it
	// would tell a player sending rough fixes which of them landed near one.
	if (fix.accuracy > maxAccuracyM) return { outcome: "inaccurate" };
	const clueIds = targets.filter(target => distanceM(fix, target.position) <= target.radiusM).map(target => target.clueId);
	if (!clueIds.length) return { outcome: "nothing" };
	return { outcome: "discovered", clueIds: clueIds.sort() };
}
