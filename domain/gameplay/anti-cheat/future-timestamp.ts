/**
 * FUTURE_TIMESTAMP: the phone dates its fix later than the server's clock allows. Phone clocks drift
 * a little, so up to `clockSkewMs` ahead is tolerated; beyond it the timestamp is forged or the clock
 * is wrong, and either way the elapsed time the speed rule relies on cannot be trusted. A fix dated in
 * the past is not flagged: a phone that lost its connection sends what it recorded offline.
 */
import { isoInstant } from "./fix";
import type { AntiCheatPolicy, Fix, Flag } from "./fix";

/** `now`: the server's clock, epoch ms. */
export function futureTimestamp(fix: Fix, now: number, policy: Pick<AntiCheatPolicy, "clockSkewMs">): Flag | undefined {
	const aheadMs = fix.recordedAt - now;
	if (aheadMs <= policy.clockSkewMs) return undefined;
	return { code: "FUTURE_TIMESTAMP", evidence: { recordedAt: isoInstant(fix.recordedAt), serverTime: isoInstant(now), aheadMs } };
}
