/**
 * IMPOSSIBLE_SPEED: reaching this fix from the last accepted one would take a speed no transport a
 * hunt allows. GPS error counts in the player's favour: either fix may be off by its accuracy radius,
 * so only the distance beyond both radii must really have been covered.
 *
 * The elapsed time is the phone's, which the player sets: fixes dated days apart would make any jump
 * a stroll. So it counts at most the time the server saw pass between the two reports, plus the clock
 * skew a phone is allowed (reports buffered on a bad network arrive close together, a few metres
 * apart each: well within that allowance).
 */
import { distanceM } from "../../hunts/geo";
import { roundTo } from "./fix";
import type { AntiCheatPolicy, Fix, Flag } from "./fix";

export function impossibleSpeed(previous: Fix | undefined, fix: Fix, policy: Pick<AntiCheatPolicy, "maxSpeedMps" | "clockSkewMs">): Flag | undefined {
	// A participation's first fix has nothing to be compared with.
	if (!previous) return undefined;
	const phoneElapsedMs = fix.recordedAt - previous.recordedAt;
	// A speed over negative time means nothing: TIME_WENT_BACKWARDS reports that fix.
	if (phoneElapsedMs < 0) return undefined;
	const serverElapsedMs = previous.receivedAt !== undefined && fix.receivedAt !== undefined ? Math.max(0, fix.receivedAt - previous.receivedAt) : undefined;
	const elapsedMs = serverElapsedMs === undefined ? phoneElapsedMs : Math.min(phoneElapsedMs, serverElapsedMs + policy.clockSkewMs);
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
			phoneSeconds: roundTo(phoneElapsedMs / 1000, 3),
			// JSON would turn Infinity into null, which reads as "unknown" rather than "same instant".
			speedMps: Number.isFinite(speed) ? roundTo(speed, 2) : "Infinity",
			maxSpeedMps: policy.maxSpeedMps,
		},
	};
}
