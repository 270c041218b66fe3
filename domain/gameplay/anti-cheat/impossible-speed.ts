/**
 * IMPOSSIBLE_SPEED: reaching this fix from the last accepted one would take a speed no transport a
 * hunt allows. GPS error counts in the player's favour: either fix may be off by its accuracy radius,
 * so only the distance beyond both radii must really have been covered. The elapsed time is read on
 * the phone's clock; FUTURE_TIMESTAMP bounds how far a player can stretch it.
 */
import { distanceM } from "../../hunts/geo";
import { roundTo } from "./fix";
import type { AntiCheatPolicy, Fix, Flag } from "./fix";

export function impossibleSpeed(previous: Fix | undefined, fix: Fix, policy: Pick<AntiCheatPolicy, "maxSpeedMps">): Flag | undefined {
	// A participation's first fix has nothing to be compared with.
	if (!previous) return undefined;
	const elapsedMs = fix.recordedAt - previous.recordedAt;
	// A speed over negative time means nothing: TIME_WENT_BACKWARDS reports that fix.
	if (elapsedMs < 0) return undefined;
	const distance = distanceM(previous, fix);
	const required = Math.max(0, distance - previous.accuracy - fix.accuracy);
	if (required === 0) return undefined;
	const seconds = elapsedMs / 1000;
	// Two different places at the same instant divide by zero: Infinity, faster than any limit.
	const speed = required / seconds;
	if (speed <= policy.maxSpeedMps) return undefined;
	return {
		code: "IMPOSSIBLE_SPEED",
		evidence: {
			distanceM: roundTo(distance, 1),
			requiredDistanceM: roundTo(required, 1),
			seconds: roundTo(seconds, 3),
			// JSON would turn Infinity into null, which reads as "unknown" rather than "same instant".
			speedMps: Number.isFinite(speed) ? roundTo(speed, 2) : "Infinity",
			maxSpeedMps: policy.maxSpeedMps,
		},
	};
}
