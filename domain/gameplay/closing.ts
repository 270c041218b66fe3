/**
 * When play stops for a participation: at the hunt's end, or when the player's own time limit
 * (counted from joining) runs out, whichever comes first. A participation whose time is up is
 * closed, completed without a finish (`closedBy` says why): it keeps its score, without the time
 * bonus that only a finish earns, and stays on the leaderboard.
 */
export type ClosedBy = "time_limit" | "hunt_end";

export interface PlayWindow {
	/** Epoch ms. */
	endsAt: number;
	timeLimitMinutes: number | null;
}

/** When a participation started at `startedAt` (epoch ms) stops playing, and why. */
export function closingOf(window: PlayWindow, startedAt: number): { at: number; by: ClosedBy } {
	const limitEndsAt = window.timeLimitMinutes === null ? Infinity : startedAt + window.timeLimitMinutes * 60_000;
	return limitEndsAt < window.endsAt ? { at: limitEndsAt, by: "time_limit" } : { at: window.endsAt, by: "hunt_end" };
}

/** Why a participation started at `startedAt` plays no more at `now`; undefined while it may. */
export function timeUp(window: PlayWindow, startedAt: number, now: number): ClosedBy | undefined {
	const closing = closingOf(window, startedAt);
	return now >= closing.at ? closing.by : undefined;
}
