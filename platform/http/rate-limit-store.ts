/**
 * moleculer-web's rate limiter counts in process memory, so N gateway nodes would allow N times the
 * limit. This store counts in the shared key-value store instead (Redis when configured): fixed
 * windows, one counter per client and window, expiring with the window.
 */
import type { KeyValueStore } from "../store/types";

export class SharedRateLimitStore {
	constructor(
		private readonly store: KeyValueStore,
		private readonly windowMs: number,
		private readonly now: () => number = Date.now,
	) {}

	/** When the current window ends, in ms since the epoch (moleculer-web puts it in X-Rate-Limit-Reset). */
	get resetTime(): number {
		return (Math.floor(this.now() / this.windowMs) + 1) * this.windowMs;
	}

	/** Seconds until the current window ends (for Retry-After). */
	secondsToReset(): number {
		return Math.max(1, Math.ceil((this.resetTime - this.now()) / 1000));
	}

	inc(key: string): Promise<number> {
		const window = Math.floor(this.now() / this.windowMs);
		return this.store.incr(`ratelimit:${window}:${key}`, { ttlMs: this.windowMs });
	}
}
