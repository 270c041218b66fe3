import type { NotificationView } from "../../contracts/notifications";
import { LiveFeed, parseLastEventId, type SincePage } from "./live-feed";

const note = (id: number): NotificationView => ({ id, kind: "clue_discovered", title: `#${id}`, body: "", data: {}, createdAt: "2026-01-01T00:00:00.000Z" });

/** A user's inbox: numbers 1..last, some of them not pushed; `since` as the contract says. */
function inbox(last: number, notPushed: number[] = []) {
	const state = { last, calls: [] as Array<{ after: number; limit: number }> };
	const since = async (after: number, limit: number): Promise<SincePage> => {
		state.calls.push({ after, limit });
		const items: NotificationView[] = [];
		for (let id = after + 1; id <= state.last && items.length < limit; id++) if (!notPushed.includes(id)) items.push(note(id));
		return { items, last: state.last };
	};
	return { state, since };
}

/** A fetch that waits until the test lets it answer. */
function gatedSince(answer: (after: number, limit: number) => Promise<SincePage>) {
	const gates: Array<() => void> = [];
	const since = (after: number, limit: number) => new Promise<void>(resolve => gates.push(resolve)).then(() => answer(after, limit));
	return { since, open: () => gates.shift()?.() };
}

const settle = () => new Promise(resolve => setImmediate(resolve));

function feedWith(since: (after: number, limit: number) => Promise<SincePage>, extra: { resumeAfter?: number; pageSize?: number; holdLimit?: number } = {}) {
	const delivered: number[] = [];
	const failures: Error[] = [];
	const feed = new LiveFeed({ fetchSince: since, deliver: n => delivered.push(n.id), fail: err => failures.push(err), ...extra });
	return { feed, delivered, failures };
}

describe("LiveFeed", () => {
	it("without a resume point, starts at the first number it hears and delivers what follows on, in order", async () => {
		const { since, state } = inbox(0);
		const { feed, delivered } = feedWith(since);
		await feed.start();
		for (const id of [7, 8, 9]) feed.offer({ push: true, notification: note(id) });
		expect(delivered).toEqual([7, 8, 9]);
		expect(state.calls).toEqual([]);
		expect(feed.lastSent).toBe(9);
	});

	it("drops a broadcast heard twice, or late after the numbers moved on", async () => {
		const { feed, delivered } = feedWith(inbox(0).since);
		for (const id of [1, 2, 2, 1, 3]) feed.offer({ push: true, notification: note(id) });
		expect(delivered).toEqual([1, 2, 3]);
	});

	it("counts a notification the user's preferences keep out of the push, without sending it", async () => {
		const { since, state } = inbox(3);
		const { feed, delivered } = feedWith(since);
		feed.offer({ push: true, notification: note(1) });
		feed.offer({ push: false, notification: note(2) });
		feed.offer({ push: true, notification: note(3) });
		expect(delivered).toEqual([1, 3]);
		// Not a gap: nothing was fetched.
		expect(state.calls).toEqual([]);
		expect(feed.lastSent).toBe(3);
	});

	it("fetches the numbers a lost broadcast skipped, then goes on live", async () => {
		const { since, state } = inbox(5);
		const { feed, delivered } = feedWith(since);
		feed.offer({ push: true, notification: note(1) });
		feed.offer({ push: true, notification: note(5) });
		await settle();
		expect(delivered).toEqual([1, 2, 3, 4, 5]);
		expect(state.calls).toEqual([{ after: 1, limit: 500 }]);
		state.last = 6;
		feed.offer({ push: true, notification: note(6) });
		feed.offer({ push: true, notification: note(4) });
		expect(delivered).toEqual([1, 2, 3, 4, 5, 6]);
	});

	it("resumes after the client's last event id, in pages, then releases what arrived meanwhile in order and once", async () => {
		const store = inbox(7, [3]);
		const gated = gatedSince(store.since);
		const { feed, delivered } = feedWith(gated.since, { resumeAfter: 1, pageSize: 2 });
		const started = feed.start();
		// While the first page is on its way, live events arrive (some it will return too).
		store.state.last = 9;
		for (const id of [9, 8, 4]) feed.offer({ push: true, notification: note(id) });
		expect(feed.catchingUp).toBe(true);
		for (let i = 0; i < 4; i++) {
			await settle();
			gated.open();
		}
		await started;
		expect(delivered).toEqual([2, 4, 5, 6, 7, 8, 9]);
		expect(feed.lastSent).toBe(9);
		expect(feed.catchingUp).toBe(false);
	});

	it("after a catch-up, fetches again when what was held back still skips a number", async () => {
		const store = inbox(3);
		const gated = gatedSince(store.since);
		const { feed, delivered } = feedWith(gated.since, { resumeAfter: 0 });
		const started = feed.start();
		// Arrives during the fetch, but number 4 was lost on the way.
		feed.offer({ push: true, notification: note(5) });
		store.state.last = 5;
		gated.open();
		await settle();
		gated.open();
		await started;
		expect(delivered).toEqual([1, 2, 3, 4, 5]);
	});

	it("takes the inbox's word over a client claiming a number the user has not reached", async () => {
		const { since } = inbox(3);
		const { feed, delivered } = feedWith(since, { resumeAfter: 50 });
		await feed.start();
		expect(delivered).toEqual([]);
		feed.offer({ push: true, notification: note(4) });
		expect(delivered).toEqual([4]);
	});

	it("bounds what it holds back during a fetch, and fetches what it had to drop", async () => {
		const store = inbox(0);
		const gated = gatedSince(store.since);
		const { feed, delivered } = feedWith(gated.since, { resumeAfter: 0, holdLimit: 2 });
		const started = feed.start();
		store.state.last = 5;
		for (const id of [1, 2, 3, 4, 5]) feed.offer({ push: true, notification: note(id) });
		gated.open();
		await settle();
		gated.open();
		await started;
		expect(delivered).toEqual([1, 2, 3, 4, 5]);
	});

	it("reports a failed fetch instead of delivering past a hole, and stops after end()", async () => {
		const { feed, delivered, failures } = feedWith(() => Promise.reject(new Error("inbox away")), { resumeAfter: 2 });
		await feed.start();
		expect(failures.map(err => err.message)).toEqual(["inbox away"]);
		expect(delivered).toEqual([]);
		const ended = feedWith(inbox(0).since);
		ended.feed.offer({ push: true, notification: note(1) });
		ended.feed.end();
		ended.feed.offer({ push: true, notification: note(2) });
		expect(ended.delivered).toEqual([1]);
	});
});

describe("parseLastEventId", () => {
	it("accepts a notification number as digits or a JSON number, and nothing else", () => {
		expect(parseLastEventId(undefined)).toBeUndefined();
		expect(parseLastEventId("0")).toBe(0);
		expect(parseLastEventId("42")).toBe(42);
		expect(parseLastEventId(42)).toBe(42);
		expect(parseLastEventId(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
		for (const bad of ["", "-1", "1.5", "01", " 1", "1e3", "abc", "9007199254740992", "99999999999999999", ["1", "2"], -1, 1.5, NaN, null, {}]) {
			expect(parseLastEventId(bad)).toBe("invalid");
		}
	});
});
