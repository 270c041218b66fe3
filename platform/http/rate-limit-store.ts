/**
 * moleculer-web's rate limiter counts in process memory, so N gateway nodes would allow N times the
 * limit. This store counts in the shared key-value store instead (Redis when configured): fixed
 * windows, one counter per client and window, expiring with the window.
 *
 * A round trip to the shared store on every request would cost more than the request, so each node
 * counts locally and settles with the store in batches: every SETTLE_EVERY_MS, and at once whenever
 * a client's unsettled requests on this node pass a tenth of what it has left in the window. A
 * client far from its limit is therefore answered from memory; one near it, or any client of a small
 * limit (under 10 a window), is counted exactly on every request. What a node admits without asking
 * the store is at most a tenth of the limit per client and window, so with N gateway nodes a client
 * gets at most N/10 of its limit more than the limit (none with one node) — the stated tolerance,
 * tested on Redis.
 */
import type { KeyValueStore } from "../store/types";

export const SETTLE_EVERY_MS = 250;
/** Unsettled requests a node may admit per client: this fraction of the client's remaining allowance. */
const LOCAL_SHARE = 10;

interface ClientCount {
	/** The shared count as of this node's last settlement. */
	settled: number;
	/** Requests this node has sent to the store and not yet heard back about. */
	sending: number;
	/** Requests this node counted and has not yet sent. */
	unsettled: number;
}

/** While the store is down, one warning per this long, not one per settlement. */
const SETTLE_ERROR_LOG_EVERY_MS = 30_000;

export class SharedRateLimitStore {
	private window = Number.NaN;
	private counts = new Map<string, ClientCount>();
	/** The clients with requests not yet sent, so a settlement does not walk every client of the window. */
	private unsent = new Map<string, ClientCount>();
	private settler: NodeJS.Timeout | undefined;
	private lastSettleErrorMs = -Infinity;

	constructor(
		private readonly store: KeyValueStore,
		private readonly windowMs: number,
		private readonly limit: number,
		private readonly now: () => number = Date.now,
		private readonly onSettleError: (err: unknown) => void = () => undefined,
	) {}

	/** When the current window ends, in ms since the epoch (moleculer-web puts it in X-Rate-Limit-Reset). */
	get resetTime(): number {
		return (Math.floor(this.now() / this.windowMs) + 1) * this.windowMs;
	}

	/** Seconds until the current window ends (for Retry-After). */
	secondsToReset(): number {
		return Math.max(1, Math.ceil((this.resetTime - this.now()) / 1000));
	}

	/** Counts one request of `key`; resolves the client's count in this window so far, this one included. */
	inc(key: string): number | Promise<number> {
		const window = Math.floor(this.now() / this.windowMs);
		if (window !== this.window) {
			// Unsettled counts of the window that ended no longer limit anyone.
			this.window = window;
			this.counts = new Map();
			this.unsent = new Map();
		}
		let count = this.counts.get(key);
		if (!count) this.counts.set(key, (count = { settled: 0, sending: 0, unsettled: 0 }));
		count.unsettled++;
		// Requests on their way to the store count too: until it answers, `settled` is older than they are.
		if (count.sending + count.unsettled <= Math.floor((this.limit - count.settled) / LOCAL_SHARE)) {
			this.unsent.set(key, count);
			this.settler ??= setInterval(() => this.settleAll(), SETTLE_EVERY_MS).unref();
			return count.settled + count.sending + count.unsettled;
		}
		return this.settle(key, count, window);
	}

	/** Sends what this node counted and has not yet told the store. */
	async settleAll(): Promise<void> {
		const pending = [...this.unsent].filter(([, count]) => count.unsettled > 0);
		this.unsent = new Map();
		if (pending.length === 0) {
			clearInterval(this.settler);
			this.settler = undefined;
			return;
		}
		const window = this.window;
		const outcomes = await Promise.allSettled(pending.map(([key, count]) => this.settle(key, count, window)));
		const failed = outcomes.find(outcome => outcome.status === "rejected");
		if (failed && this.now() - this.lastSettleErrorMs >= SETTLE_ERROR_LOG_EVERY_MS) {
			this.lastSettleErrorMs = this.now();
			this.onSettleError(failed.reason);
		}
	}

	close(): void {
		clearInterval(this.settler);
		this.settler = undefined;
	}

	private async settle(key: string, count: ClientCount, window: number): Promise<number> {
		const by = count.unsettled;
		count.unsettled = 0;
		count.sending += by;
		try {
			const total = await this.store.incr(`ratelimit:${window}:${key}`, { by, ttlMs: this.windowMs });
			count.settled = Math.max(count.settled, total);
			return total;
		} catch (err) {
			// Sent again at the next settlement, not lost (an increment the store made but could not
			// confirm is then counted twice: a client is over-counted, never under-counted).
			count.unsettled += by;
			if (this.window === window) this.unsent.set(key, count);
			throw err;
		} finally {
			count.sending -= by;
		}
	}
}
