/**
 * What one position report does to a participation: the server alone decides, from the published
 * hunt and what the participation has done so far, with every rule in its own file (anti-cheat/,
 * discovery, opening, completion). Pure: the caller loads the snapshot, stores what changed and
 * sends the messages about it; the clock comes in as `now`.
 *
 * The order matters for cheating not to pay: the anti-cheat rules run first, and a flagged fix
 * discovers nothing. Only a fix that raised no flag and was precise enough becomes the place the
 * next fix is measured from: a rough fix (accuracy in kilometres) would otherwise let a player
 * "move" anywhere without an impossible speed, and the next precise fix land on any clue.
 */
import { checkFix } from "./anti-cheat/check-fix";
import { DEFAULT_ANTI_CHEAT_POLICY, type AntiCheatPolicy, type Fix, type FixHistory, type Flag } from "./anti-cheat/fix";
import { fixFingerprint, remember } from "./anti-cheat/replayed-fix";
import { DEFAULT_SUSPENSION_POLICY, shouldSuspend, type SuspensionPolicy } from "./anti-cheat/suspension";
import { isComplete } from "./completion";
import { DEFAULT_MAX_ACCURACY_M, evaluateFix, type Target } from "./discovery";
import { openClues, type CompiledPlayGraph } from "./opening";
import { assertPlaying, type ParticipationState } from "./participation-lifecycle";

/** A published hunt as play needs it: frozen, so held in memory. */
export interface PlayHunt {
	graph: CompiledPlayGraph;
	clues: ReadonlyMap<string, Target & { hasChallenge: boolean }>;
}

export interface ParticipationSnapshot {
	state: ParticipationState;
	discovered: ReadonlySet<string>;
	/** Clues whose challenge was answered right. */
	solved: ReadonlySet<string>;
	history: FixHistory;
	/** When each earlier flagged fix arrived (server clock, epoch ms). */
	flagTimes: readonly number[];
}

export interface PlayPolicy {
	antiCheat: AntiCheatPolicy;
	suspension: SuspensionPolicy;
	maxAccuracyM: number;
}

export const DEFAULT_PLAY_POLICY: PlayPolicy = { antiCheat: DEFAULT_ANTI_CHEAT_POLICY, suspension: DEFAULT_SUSPENSION_POLICY, maxAccuracyM: DEFAULT_MAX_ACCURACY_M };

export type ReportOutcome = "discovered" | "completed" | "nothing" | "inaccurate" | "flagged";

export interface ReportDecision {
	outcome: ReportOutcome;
	/** The same fix as the last one received: a client's retry, answered as before and changing nothing. */
	retry?: boolean;
	flags: Flag[];
	/** Clues this fix discovered, in clue-id order. */
	discovered: string[];
	/** The history to keep for the next fix (every report changes it: its replay memory). */
	history: FixHistory;
	/** The flags of this fix make the participation suspended. */
	suspend: boolean;
	/** This fix completed the hunt. */
	complete: boolean;
}

/** A clue's successors open once it is discovered and its challenge, if any, solved. */
export function passedClues(hunt: PlayHunt, discovered: ReadonlySet<string>, solved: ReadonlySet<string>): Set<string> {
	const passed = new Set<string>();
	for (const clueId of discovered) if (!hunt.clues.get(clueId)?.hasChallenge || solved.has(clueId)) passed.add(clueId);
	return passed;
}

/** The clues the player is looking for: open and not yet discovered. */
export function targetsOf(hunt: PlayHunt, discovered: ReadonlySet<string>, solved: ReadonlySet<string>): Target[] {
	const targets: Target[] = [];
	for (const clueId of openClues(hunt.graph, passedClues(hunt, discovered, solved))) {
		const clue = hunt.clues.get(clueId);
		if (clue && !discovered.has(clueId)) targets.push(clue);
	}
	return targets;
}

/** Throws 409 PARTICIPATION_STATE unless the participation is active. */
export function decideReport(hunt: PlayHunt, participation: ParticipationSnapshot, fix: Fix, now: number, policy: PlayPolicy = DEFAULT_PLAY_POLICY): ReportDecision {
	assertPlaying(participation.state);
	// A client that timed out sends its report again. The fix was decided already (anything it found
	// is found): answering "nothing" costs the player nothing and gives a cheater nothing either.
	// Replaying any older fix is REPLAYED_FIX.
	if (participation.history.recent.at(-1) === fixFingerprint(fix)) {
		return { outcome: "nothing", retry: true, flags: [], discovered: [], history: participation.history, suspend: false, complete: false };
	}
	fix = { ...fix, receivedAt: now };
	const flags = checkFix(participation.history, fix, now, policy.antiCheat);
	const recent = remember(participation.history, fix, policy.antiCheat);
	const precise = fix.accuracy <= policy.maxAccuracyM;
	const history: FixHistory = { lastAccepted: !flags.length && precise ? fix : participation.history.lastAccepted, recent };
	if (flags.length) return { outcome: "flagged", flags, discovered: [], history, suspend: shouldSuspend(participation.flagTimes, now, policy.suspension), complete: false };

	const discovered = new Set(participation.discovered);
	const found: string[] = [];
	// Discovering a clue without a challenge opens the next ones at once; where their geofences
	// overlap the one just found, the same fix finds them too. Each round finds at least one new
	// clue, so this ends within the hunt's clue count.
	for (;;) {
		const result = evaluateFix(fix, targetsOf(hunt, discovered, participation.solved), policy.maxAccuracyM);
		if (result.outcome === "inaccurate") return { outcome: "inaccurate", flags, discovered: [], history, suspend: false, complete: false };
		if (result.outcome === "nothing") break;
		for (const clueId of result.clueIds) {
			discovered.add(clueId);
			found.push(clueId);
		}
	}
	if (!found.length) return { outcome: "nothing", flags, discovered: [], history, suspend: false, complete: false };
	const complete = isComplete(hunt.graph, passedClues(hunt, discovered, participation.solved));
	return { outcome: complete ? "completed" : "discovered", flags, discovered: found.sort(), history, suspend: false, complete };
}
