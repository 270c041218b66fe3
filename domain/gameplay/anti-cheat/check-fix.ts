/**
 * Every anti-cheat rule on one received fix. All the flags raised are returned, not just the first:
 * an admin reviewing a fix that is both replayed and too fast should see both.
 *
 * A flagged fix is never accepted. The caller then updates the participation's history (`historyAfter`
 * does it): `recent` with every fix received, flagged or not, since a refused fix sent again is still a
 * replay; `lastAccepted` only with a fix that raised no flag, since it is what the next fix is measured
 * from. So one wild GPS jump costs one flag, not a run of them, and a spoofed position never becomes a
 * place the player can move on from.
 */
import { DEFAULT_ANTI_CHEAT_POLICY } from "./fix";
import type { AntiCheatPolicy, Fix, FixHistory, Flag, FlagCode } from "./fix";
import { futureTimestamp } from "./future-timestamp";
import { impossibleSpeed } from "./impossible-speed";
import { remember, replayedFix } from "./replayed-fix";
import { timeWentBackwards } from "./time-went-backwards";

/** What every rule may look at; each takes what it needs. `now` is the server's clock, epoch ms. */
export interface FixCheckInput {
	history: FixHistory;
	fix: Fix;
	now: number;
	policy: AntiCheatPolicy;
}

/** One rule, named by the flag it raises. */
export interface FixCheck {
	code: FlagCode;
	check(input: FixCheckInput): Flag | undefined;
}

/** The rules, in the order their flags are reported. A new rule is a file and a line here. */
export const FIX_CHECKS: readonly FixCheck[] = [
	{ code: "REPLAYED_FIX", check: ({ history, fix }) => replayedFix(history, fix) },
	{ code: "FUTURE_TIMESTAMP", check: ({ fix, now, policy }) => futureTimestamp(fix, now, policy) },
	{ code: "TIME_WENT_BACKWARDS", check: ({ history, fix }) => timeWentBackwards(history.lastAccepted, fix) },
	{ code: "IMPOSSIBLE_SPEED", check: ({ history, fix, policy }) => impossibleSpeed(history.lastAccepted, fix, policy) },
];

/** `now`: the server's clock, epoch ms. Flags come in FIX_CHECKS' order. */
export function checkFix(history: FixHistory, fix: Fix, now: number, policy: AntiCheatPolicy = DEFAULT_ANTI_CHEAT_POLICY): Flag[] {
	const flags: Flag[] = [];
	for (const rule of FIX_CHECKS) {
		const flag = rule.check({ history, fix, now, policy });
		if (flag) flags.push(flag);
	}
	return flags;
}

/** The history to store once `fix` has been checked and raised `flags`. */
export function historyAfter(history: FixHistory, fix: Fix, flags: readonly Flag[], policy: Pick<AntiCheatPolicy, "replayMemory"> = DEFAULT_ANTI_CHEAT_POLICY): FixHistory {
	return { lastAccepted: flags.length ? history.lastAccepted : fix, recent: remember(history, fix, policy) };
}
