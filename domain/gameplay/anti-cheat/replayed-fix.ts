/**
 * REPLAYED_FIX: the server has already received this fix. A phone never produces two different fixes
 * at the same instant, so a fix sharing its recordedAt with one already received is a replay too,
 * edited or not. Standing still is not a replay: the same position at a new time is a new fix.
 *
 * A client retrying a request that timed out sends the same fix again; the caller should answer such a
 * retry idempotently (by a request id) before it gets here, or honest players on a bad network get flagged.
 */
import { isoInstant } from "./fix";
import type { AntiCheatPolicy, Fix, FixHistory, Flag } from "./fix";

const SEPARATOR = "|";

/**
 * The fix exactly as sent. `String` gives each number's shortest round-trip form, so "48.85840" and
 * "48.8584" in the request body, one number once parsed, make one fingerprint. The time comes first so
 * the same-instant check can read it back.
 */
export function fixFingerprint(fix: Fix): string {
	return [fix.recordedAt, fix.lat, fix.lon, fix.accuracy].map(String).join(SEPARATOR);
}

const instantOf = (fingerprint: string) => fingerprint.slice(0, fingerprint.indexOf(SEPARATOR));

export function replayedFix(history: FixHistory, fix: Fix): Flag | undefined {
	const fingerprint = fixFingerprint(fix);
	// The last accepted fix was received too, and may have left the bounded `recent` list since.
	const received = history.lastAccepted ? [fixFingerprint(history.lastAccepted), ...history.recent] : history.recent;
	const identical = received.includes(fingerprint);
	const earlier = identical ? fingerprint : received.findLast(seen => instantOf(seen) === instantOf(fingerprint));
	if (earlier === undefined) return undefined;
	return {
		code: "REPLAYED_FIX",
		evidence: { match: identical ? "identical" : "same recordedAt", recordedAt: isoInstant(fix.recordedAt), fingerprint, earlierFingerprint: earlier },
	};
}

/** The `recent` list once `fix` is received: newest last, the oldest dropped past `replayMemory`. */
export function remember(history: FixHistory, fix: Fix, policy: Pick<AntiCheatPolicy, "replayMemory">): string[] {
	const recent = [...history.recent, fixFingerprint(fix)];
	// Not slice(-replayMemory): slice(-0) would keep everything.
	return recent.slice(Math.max(0, recent.length - policy.replayMemory));
}
