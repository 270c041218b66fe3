import type { NotificationView } from "../../contracts/notifications";
import { LiveHub, type LiveCloseReason, type LiveSink } from "./live-hub";

const note = (id: number): NotificationView => ({ id, kind: "reward_won", title: `#${id}`, body: "", data: {}, createdAt: "2026-01-01T00:00:00.000Z" });

function sink(opts: { accepts?: () => boolean } = {}) {
	const record = { sent: [] as number[], closed: [] as LiveCloseReason[], heartbeats: 0 };
	const value: LiveSink = {
		send: n => {
			record.sent.push(n.id);
			return opts.accepts ? opts.accepts() : true;
		},
		heartbeat: () => void record.heartbeats++,
		close: reason => void record.closed.push(reason),
	};
	return { sink: value, record };
}

function hubWith(overrides: Partial<ConstructorParameters<typeof LiveHub>[0]> = {}) {
	const revoked = new Set<string>();
	let now = 1_000_000;
	const hub = new LiveHub({
		maxConnections: 10,
		maxPerUser: 2,
		fetchSince: async () => ({ items: [], last: 0 }),
		isSessionRevoked: async id => revoked.has(id),
		now: () => now,
		...overrides,
	});
	const open = (userId: string, extra: { sessionId?: string; expiresAtMs?: number; accepts?: () => boolean } = {}) => {
		const slot = hub.reserve();
		if (!slot) throw new Error("node full");
		const made = sink({ accepts: extra.accepts });
		const outcome = hub.attach(slot, {
			userId,
			token: `token-of-${userId}`,
			sessionId: extra.sessionId ?? `session-of-${userId}`,
			expiresAtMs: extra.expiresAtMs ?? now + 60_000,
			transport: "sse",
			sink: made.sink,
		});
		if (!outcome.ok) slot.release();
		return { outcome, ...made };
	};
	return { hub, revoked, open, advance: (ms: number) => (now += ms) };
}

describe("LiveHub", () => {
	it("sends a notification only to its own user's connections, each of them", () => {
		const { hub, open } = hubWith();
		const ana = [open("ana"), open("ana")];
		const bob = open("bob");
		hub.publish({ userId: "ana", push: true, notification: note(1) });
		expect(ana.map(c => c.record.sent)).toEqual([[1], [1]]);
		expect(bob.record.sent).toEqual([]);
	});

	it("refuses a user's connection past their bound, and admits one again once another closed", () => {
		const { hub, open } = hubWith();
		const first = open("ana");
		open("ana");
		expect(hub.userIsFull("ana")).toBe(true);
		expect(open("ana").outcome).toEqual({ ok: false, code: "TOO_MANY_CONNECTIONS" });
		// The refused one gave its node-wide place back.
		expect(hub.size).toBe(2);
		if (first.outcome.ok) first.outcome.connection.detach();
		expect(open("ana").outcome.ok).toBe(true);
	});

	it("refuses a place past the node-wide bound, pending authentication included, and frees it once", () => {
		const { hub } = hubWith({ maxConnections: 2 });
		const a = hub.reserve()!;
		hub.reserve();
		expect(hub.reserve()).toBeUndefined();
		a.release();
		a.release();
		expect(hub.size).toBe(1);
		expect(hub.reserve()).toBeDefined();
		expect(hub.reserve()).toBeUndefined();
	});

	it("closes the connections of a revoked session and of an expired token at a sweep, and keeps the others", async () => {
		const { hub, open, revoked, advance } = hubWith({ maxPerUser: 5 });
		const loggedOut = [open("ana", { sessionId: "s1" }), open("ana", { sessionId: "s1" })];
		const other = open("ana", { sessionId: "s2", expiresAtMs: Date.now() * 2 });
		const expiring = open("bob", { sessionId: "s3", expiresAtMs: 1_000_500 });
		revoked.add("s1");
		advance(1_000);
		expect(await hub.sweep()).toEqual({ expired: 1, revoked: 2 });
		expect(loggedOut.map(c => c.record.closed)).toEqual([["SESSION_REVOKED"], ["SESSION_REVOKED"]]);
		expect(expiring.record.closed).toEqual(["TOKEN_EXPIRED"]);
		expect(other.record.closed).toEqual([]);
		expect(hub.connectionsOf("ana").map(c => c.sessionPrefix)).toEqual(["s2"]);
		expect(hub.connectedCount).toBe(1);
		expect(hub.size).toBe(1);
	});

	it("keeps connections open when the revocation store is away, and reports it", async () => {
		const errors: string[] = [];
		const { hub, open } = hubWith({ isSessionRevoked: () => Promise.reject(new Error("store away")), onError: err => errors.push(err.message) });
		const ana = open("ana");
		await hub.sweep();
		expect(ana.record.closed).toEqual([]);
		expect(errors).toEqual(["store away"]);
	});

	it("closes a connection whose client cannot keep up, and one whose catch-up failed", async () => {
		const { hub, open } = hubWith({ fetchSince: () => Promise.reject(new Error("inbox away")) });
		const slow = open("ana", { accepts: () => false });
		hub.publish({ userId: "ana", push: true, notification: note(1) });
		expect(slow.record.closed).toEqual(["TOO_SLOW"]);
		const resumed = hub.attach(hub.reserve()!, { userId: "bob", token: "token-of-bob", sessionId: "s", expiresAtMs: Infinity, transport: "ws", sink: sink().sink, resumeAfter: 3 });
		expect(resumed.ok).toBe(true);
		await new Promise(resolve => setImmediate(resolve));
		expect(hub.connectionsOf("bob")).toEqual([]);
		expect(hub.size).toBe(0);
	});

	it("lists a user's connections for operators, heartbeats them all and closes them all", () => {
		const { hub, open } = hubWith();
		const ana = open("ana", { sessionId: "0123456789abcdef" });
		hub.publish({ userId: "ana", push: true, notification: note(4) });
		expect(hub.connectionsOf("ana")).toEqual([
			{ id: expect.any(Number), userId: "ana", sessionPrefix: "01234567", transport: "sse", connectedAt: new Date(1_000_000).toISOString(), lastEventId: 4, catchingUp: false },
		]);
		hub.heartbeat();
		expect(ana.record.heartbeats).toBe(1);
		hub.closeAll("SHUTTING_DOWN");
		expect(ana.record.closed).toEqual(["SHUTTING_DOWN"]);
		expect(hub.size).toBe(0);
	});
});
