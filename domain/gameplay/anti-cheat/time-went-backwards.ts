/**
 * TIME_WENT_BACKWARDS: the fix is dated before the last accepted one. A phone records fixes in order,
 * so an older one is a replayed or edited track. The same instant is not backwards: two fixes at one
 * instant are REPLAYED_FIX's to report.
 */
import { isoInstant } from "./fix";
import type { Fix, Flag } from "./fix";

export function timeWentBackwards(previous: Fix | undefined, fix: Fix): Flag | undefined {
	if (!previous || fix.recordedAt >= previous.recordedAt) return undefined;
	return {
		code: "TIME_WENT_BACKWARDS",
		evidence: { recordedAt: isoInstant(fix.recordedAt), previousRecordedAt: isoInstant(previous.recordedAt), behindMs: previous.recordedAt - fix.recordedAt },
	};
}
