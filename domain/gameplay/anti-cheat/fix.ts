/**
 * What a phone reports about its position, and what the anti-cheat rules can say about it. Each rule
 * lives in its own file and is pure: the server's time comes in as an argument, so every verdict can
 * be reproduced in a test or when an admin reviews a flag.
 *
 * Input validation rejects NaN, Infinity and out-of-range coordinates before a fix gets here; the
 * rules do not check again.
 */

/** One position report, exactly as the phone sent it. */
export interface Fix {
	lat: number;
	lon: number;
	/** Metres: the phone is 68 % sure the true position lies within this radius. */
	accuracy: number;
	/** Epoch ms on the phone's clock, which the player controls. */
	recordedAt: number;
	/** Epoch ms on the server's clock when the report arrived: the one clock the player does not set. */
	receivedAt?: number;
}

/** A client contract: the app reacts to these strings, so they never change spelling. */
export type FlagCode = "IMPOSSIBLE_SPEED" | "FUTURE_TIMESTAMP" | "TIME_WENT_BACKWARDS" | "REPLAYED_FIX";

export interface Flag {
	code: FlagCode;
	/** What an admin reviewing the flag needs to judge it, rounded to what is meaningful. */
	evidence: Record<string, number | string>;
}

export interface AntiCheatPolicy {
	/** Faster than this between two fixes, once GPS error is allowed for, is not travel. */
	maxSpeedMps: number;
	/** How far ahead of the server's clock a phone's clock may run. */
	clockSkewMs: number;
	/** How many received fixes are remembered to recognise one sent again. */
	replayMemory: number;
}

export const DEFAULT_ANTI_CHEAT_POLICY: AntiCheatPolicy = {
	// 70 m/s ≈ 250 km/h. A hunt may span a city and its players may take a car on a motorway
	// (≤ 36 m/s) or an intercity train (≤ 55 m/s); the rest absorbs GPS error beyond the 68 % radius
	// between fixes a few seconds apart. Spoofing apps jump kilometres at once, so the margin costs
	// little detection, while a false flag refuses an honest player's position.
	maxSpeedMps: 70,
	// Phones set their clocks from the network; half a minute covers one that has drifted or not synced
	// yet, and bounds how far a player can stretch the elapsed time the speed rule divides by.
	clockSkewMs: 30_000,
	// Any fix older than the last accepted one is flagged as going back in time anyway: the memory only
	// has to cover what came since (refused fixes included), a few minutes at one fix every few seconds.
	replayMemory: 32,
};

/** What the rules know of a participation so far; the caller stores it between fixes. */
export interface FixHistory {
	/** The newest fix that raised no flag: the only position and time worth measuring from. */
	lastAccepted?: Fix;
	/** Fingerprints (`fixFingerprint`) of recently received fixes, flagged or not, newest last. */
	recent: readonly string[];
}

/** Evidence is read by people: centimetres and microseconds of noise would only hide the point. */
export function roundTo(value: number, decimals: number): number {
	const scale = 10 ** decimals;
	return Math.round(value * scale) / scale;
}

/** ISO 8601 for a reader; a forged timestamp beyond what a Date can hold stays in ms rather than throw. */
export function isoInstant(ms: number): string {
	const date = new Date(ms);
	return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}
