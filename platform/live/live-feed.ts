/**
 * One live connection's feed of a user's notifications: in number order, each once, none lost.
 * Broadcasts are at most once and may arrive late or out of order (two notifications nodes), so
 * the numbers themselves are the truth: every user's notifications are numbered 1, 2, 3, … with
 * no gap (the inbox store's promise), and a number that skips ahead means one was missed and is
 * fetched from the inbox (`since`). While a fetch is under way, what arrives is held back and
 * released after it, in order, without what the fetch already delivered.
 *
 * Two positions are kept: `seen`, every number up to which is accounted for (delivered, or not to
 * be pushed per the user's preferences), and `lastSent`, the last number the client received (what
 * it resumes after). A feed started without a resume point takes the first number it hears as its
 * start: a client that never received anything has nothing to resume.
 */
import type { NotificationView } from "../../contracts/notifications";

export interface FeedEvent {
	/** False when the user's preferences keep this kind out of the live push (it still counts). */
	push: boolean;
	notification: NotificationView;
}

export interface SincePage {
	/** After the number asked for, oldest first, only the pushed ones. */
	items: NotificationView[];
	/** The user's newest number when the page was read, pushed or not. */
	last: number;
}

export interface LiveFeedOptions {
	/** The inbox's `since`: the user's pushed notifications after `after`, oldest first. */
	fetchSince(after: number, limit: number): Promise<SincePage>;
	/** Hands one notification to the client. */
	deliver(notification: NotificationView): void;
	/** A fetch failed: the feed can no longer promise completeness, so the connection should end. */
	fail(err: Error): void;
	/** Where a reconnecting client left off (its Last-Event-ID); undefined: from now on. */
	resumeAfter?: number;
	pageSize?: number;
	/**
	 * Events held back during a fetch, at most; beyond it they are dropped and fetched again, so a
	 * burst cannot grow a connection's memory without bound.
	 */
	holdLimit?: number;
}

export const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_HOLD_LIMIT = 1000;

export class LiveFeed {
	private seen: number | undefined;
	private sent: number | undefined;
	private held: FeedEvent[] = [];
	private heldOverflow = false;
	private fetching = false;
	private ended = false;
	private readonly pageSize: number;
	private readonly holdLimit: number;

	constructor(private readonly options: LiveFeedOptions) {
		this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
		this.holdLimit = options.holdLimit ?? DEFAULT_HOLD_LIMIT;
		this.seen = options.resumeAfter;
		this.sent = options.resumeAfter;
	}

	/** The last number the client received (or resumed after). */
	get lastSent(): number | undefined {
		return this.sent;
	}

	/** Whether a fetch is under way (events are being held back). */
	get catchingUp(): boolean {
		return this.fetching;
	}

	/** Starts the catch-up of a resumed feed; resolves once it is done (or failed, through `fail`). */
	start(): Promise<void> {
		if (this.seen === undefined) return Promise.resolve();
		return this.catchUp();
	}

	/** A notification.created broadcast for this feed's user. */
	offer(event: FeedEvent): void {
		if (this.ended) return;
		if (this.fetching) {
			if (this.held.length < this.holdLimit) this.held.push(event);
			else this.heldOverflow = true;
			return;
		}
		if (this.apply(event) === "gap") {
			this.held.push(event);
			void this.catchUp();
		}
	}

	/** No more deliveries (the connection closed). */
	end(): void {
		this.ended = true;
		this.held = [];
	}

	/** Delivers an event that follows on; "gap" when numbers before it are missing. */
	private apply(event: FeedEvent): "applied" | "gap" {
		const id = event.notification.id;
		if (this.seen !== undefined && id <= this.seen) return "applied";
		if (this.seen !== undefined && id > this.seen + 1) return "gap";
		this.seen = id;
		if (event.push) this.send(event.notification);
		return "applied";
	}

	private send(notification: NotificationView): void {
		if (this.ended) return;
		this.sent = notification.id;
		this.options.deliver(notification);
	}

	private async catchUp(): Promise<void> {
		this.fetching = true;
		try {
			for (;;) {
				const page = await this.options.fetchSince(this.seen ?? 0, this.pageSize);
				if (this.ended) return;
				for (const item of page.items) {
					if (this.seen !== undefined && item.id <= this.seen) continue;
					this.seen = item.id;
					this.send(item);
				}
				// A full page may have more behind it; a short one covers every number up to `last`,
				// unless the client claimed to be further than the user's newest, which only `last` can
				// correct (else its next real notifications would be taken for ones it already has).
				if (page.items.length >= this.pageSize) continue;
				this.seen = page.last;
				if (this.heldOverflow) {
					this.heldOverflow = false;
					this.held = [];
					continue;
				}
				if (!this.releaseHeld()) return;
			}
		} catch (err) {
			if (!this.ended) this.options.fail(err instanceof Error ? err : new Error(String(err)));
		} finally {
			this.fetching = false;
		}
	}

	/** Releases what was held back, in order; true when a gap remains and another fetch is needed. */
	private releaseHeld(): boolean {
		const held = this.held.sort((a, b) => a.notification.id - b.notification.id);
		this.held = [];
		for (let i = 0; i < held.length; i++) {
			if (this.apply(held[i]) === "gap") {
				this.held = held.slice(i);
				return true;
			}
		}
		return false;
	}
}

/**
 * A client's resume point (SSE `Last-Event-ID`, the WebSocket's `lastEventId`): a notification
 * number, written as digits (a header, a query parameter) or as a JSON number; undefined when absent.
 */
export function parseLastEventId(value: unknown): number | undefined | "invalid" {
	if (value === undefined) return undefined;
	if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : "invalid";
	if (typeof value !== "string" || !/^(0|[1-9]\d{0,15})$/.test(value)) return "invalid";
	const parsed = Number(value);
	return Number.isSafeInteger(parsed) ? parsed : "invalid";
}
