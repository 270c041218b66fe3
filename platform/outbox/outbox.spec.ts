/**
 * The outbox, its relay, the inbox and Idempotency-Key storage on both engines. A relay "killed"
 * mid-send is one that claimed a batch and never reported back: everything it knew is in the
 * database, so that is exactly what a SIGKILL leaves (test/integration/outbox.test.ts kills a real
 * process too). On PostgreSQL, claims and idempotency keys are also raced from a second connection.
 */
import { onEverySqlEngine, openTestPostgres, useMigratedSchema, type TestDatabase } from "../../test/support/sql";
import { describeWithBackend } from "../../test/support/backends";
import { rejectionOf } from "../../test/support/async";
import type { SqlClient } from "../sql";
import { IdempotencyKeys } from "./idempotency";
import { Inbox } from "./inbox";
import { messageId } from "./message-id";
import { Outbox, type MessageWriter, type OutboxMessage } from "./outbox";
import { backoffDelay, OutboxRelay } from "./relay";

/** Channels of its own, not the contracts'. */
type TestChannels = Record<string, unknown>;

const FAST = { pollIntervalMs: 20, leaseMs: 60_000, sendTimeoutMs: 2_000, backoff: { initialMs: 10, maxMs: 40 } };

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error("condition not met in time");
		await new Promise(resolve => setTimeout(resolve, 10));
	}
}

/** A backend the tests switch on and off; it records what it accepted. */
function fakeBackend() {
	const accepted: OutboxMessage[] = [];
	const state = { up: true, refuse: new Set<string>() };
	const send = async (message: OutboxMessage) => {
		await new Promise(resolve => setImmediate(resolve));
		if (!state.up) throw new Error("connection refused");
		if (state.refuse.has(message.id)) throw new Error("message too large");
		accepted.push(message);
	};
	return { accepted, state, send };
}

onEverySqlEngine((engine, open) => {
	describe(`outbox on ${engine}`, () => {
		const db = useMigratedSchema(open as () => Promise<TestDatabase>, "outbox", []);
		let outbox: Outbox<TestChannels>;
		const relays: OutboxRelay[] = [];
		const relay = (send: (message: OutboxMessage) => Promise<void>, settings = {}) => {
			const created = new OutboxRelay(outbox, send, { ...FAST, ...settings });
			relays.push(created);
			return created;
		};
		const pending = async () => (await db.client.query<{ n: number }>(`select count(*)::int as n from "${db.schema}".outbox`)).rows[0].n;

		beforeEach(async () => {
			await db.client.query(`delete from "${db.schema}".outbox`);
			outbox = new Outbox<TestChannels>(db.client, db.schema);
		});
		afterEach(async () => {
			await Promise.all(relays.splice(0).map(r => r.stop()));
		});

		it("keeps a message only if the transaction that wrote it commits", async () => {
			const err = await rejectionOf(
				outbox.transaction(async messages => {
					await messages.add("test.things", { n: 1 });
					throw new Error("the state change failed");
				}),
			);
			expect(err).toMatchObject({ message: "the state change failed" });
			expect(await pending()).toBe(0);
			const id = await outbox.transaction(messages => messages.add("test.things", { n: 2, text: "nul \u0000 and ünïcode" }, { partitionKey: "k" }));
			expect(await outbox.claim("test", 10, 1000)).toEqual([{ id, channel: "test.things", payload: { n: 2, text: "nul \u0000 and ünïcode" }, partitionKey: "k", attempts: 0 }]);
		});

		it("writes a message with a given id once, however often it is added", async () => {
			const id = messageId("fact:42");
			expect(messageId("fact:42")).toBe(id);
			expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
			for (let i = 0; i < 3; i++) await outbox.transaction(messages => messages.add("test.things", { i }, { id }));
			expect(await outbox.claim("test", 10, 1000)).toEqual([expect.objectContaining({ id, payload: { i: 0 } })]);
		});

		it("tells the relay after a commit, and not after a rollback or a transaction without messages", async () => {
			let wakes = 0;
			outbox.onCommitted(() => wakes++);
			await rejectionOf(outbox.transaction(async messages => Promise.reject(new Error(String(await messages.add("test.things", {}))))));
			await outbox.transaction(async () => undefined);
			expect(wakes).toBe(0);
			await outbox.transaction(messages => messages.add("test.things", {}));
			expect(wakes).toBe(1);
		});

		it("relays in order, deletes what was sent, and sends each message once", async () => {
			const backend = fakeBackend();
			const r = relay(backend.send);
			r.start();
			for (let i = 0; i < 30; i++) await outbox.transaction(messages => messages.add("test.things", { i }));
			await until(() => backend.accepted.length === 30);
			expect(backend.accepted.map(m => (m.payload as { i: number }).i)).toEqual([...Array(30).keys()]);
			await until(async () => (await pending()) === 0);
			await new Promise(resolve => setTimeout(resolve, 100));
			expect(backend.accepted).toHaveLength(30);
		});

		it("loses nothing and doubles nothing while the backend is away, then catches up in order", async () => {
			const backend = fakeBackend();
			backend.state.up = false;
			const r = relay(backend.send);
			r.start();
			for (let i = 0; i < 20; i++) await outbox.transaction(messages => messages.add("test.things", { i }));
			await new Promise(resolve => setTimeout(resolve, 150));
			expect(backend.accepted).toEqual([]);
			expect((await outbox.backlog()).pending).toBe(20);
			expect((await outbox.backlog()).failing).toBeGreaterThan(0);
			// Back between two passes: a backend returning mid-pass, after one message failed and before
			// the next went out, would rightly make that one look like a message of its own problem.
			await until(() => !r.busy);
			backend.state.up = true;
			await until(() => backend.accepted.length === 20);
			expect(backend.accepted.map(m => (m.payload as { i: number }).i)).toEqual([...Array(20).keys()]);
			await until(async () => (await pending()) === 0);
			expect(backend.accepted).toHaveLength(20);
		});

		it("does not let one message the backend refuses hold up the others, and keeps retrying it", async () => {
			const backend = fakeBackend();
			const poison = await outbox.transaction(messages => messages.add("test.things", { poison: true }));
			for (let i = 0; i < 5; i++) await outbox.transaction(messages => messages.add("test.things", { i }));
			backend.state.refuse.add(poison);
			const r = relay(backend.send);
			r.start();
			await until(() => backend.accepted.length === 5);
			await until(async () => (await db.client.query<{ attempts: number }>(`select attempts from "${db.schema}".outbox where id = $1`, [poison])).rows[0]?.attempts >= 3);
			expect(await outbox.backlog()).toEqual({ pending: 1, oldestAgeSeconds: expect.any(Number), failing: 1, lastError: "message too large" });
			backend.state.refuse.clear();
			// An operator who fixed the cause need not wait out the backoff (REPL `outbox --retry`).
			// Once no relay holds it (one may be trying it again right now: a held message is the relay's to settle).
			await until(async () => (await db.client.query(`update "${db.schema}".outbox set available_at = now() + interval '1 hour' where id = $1 and claimed_by is null`, [poison])).rowCount === 1);
			expect(await outbox.retryFailedNow()).toBe(1);
			r.retryNow();
			await until(() => backend.accepted.some(m => m.id === poison));
			await until(async () => (await pending()) === 0);
		});

		it("does not let two messages the backend refuses block the ones behind them", async () => {
			const backend = fakeBackend();
			const bad = [await outbox.transaction(m => m.add("test.things", { bad: 1 })), await outbox.transaction(m => m.add("test.things", { bad: 2 }))];
			for (let i = 0; i < 3; i++) await outbox.transaction(messages => messages.add("test.things", { i }));
			bad.forEach(id => backend.state.refuse.add(id));
			relay(backend.send).start();
			await until(() => backend.accepted.length === 3);
			expect(backend.accepted.map(m => m.payload)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
		});

		it("answers wake-ups again once a pass goes through after the database failed it", async () => {
			const backend = fakeBackend();
			const r = relay(backend.send, { pollIntervalMs: 60_000 });
			jest.spyOn(outbox, "claim").mockRejectedValueOnce(new Error("connection reset"));
			r.start();
			await new Promise(resolve => setTimeout(resolve, 200));
			const started = Date.now();
			await outbox.transaction(messages => messages.add("test.things", { after: "hiccup" }));
			// Only a wake-up can send it this soon: the next poll is a minute away.
			await until(() => backend.accepted.length === 1, 2_000);
			expect(Date.now() - started).toBeLessThan(2_000);
		});

		it("gives back what is left when half its lease is gone, so no claim outlives a slow batch", async () => {
			for (let i = 0; i < 6; i++) await outbox.transaction(messages => messages.add("test.things", { i }));
			const sent: unknown[] = [];
			const r = relay(
				async message => {
					await new Promise(resolve => setTimeout(resolve, 60));
					sent.push(message.payload);
				},
				{ leaseMs: 300 },
			);
			const first = await r.runOnce();
			expect(first.sent).toBeLessThan(6);
			// What it gave back is due at once, for it or any other relay.
			let total = first.sent;
			while (total < 6) total += (await r.runOnce()).sent;
			expect(sent).toEqual([0, 1, 2, 3, 4, 5].map(i => ({ i })));
		});

		it("records an outcome only for the relay that still holds the claim", async () => {
			const id = await outbox.transaction(messages => messages.add("test.things", { contested: true }));
			await outbox.claim("slow relay", 10, 100);
			await new Promise(resolve => setTimeout(resolve, 150));
			expect((await outbox.claim("next relay", 10, 60_000)).map(m => m.id)).toEqual([id]);
			// The first relay's late report changes nothing: the message stays with the relay holding it.
			await outbox.delivered("slow relay", id);
			await outbox.failed("slow relay", id, 0, "late");
			await outbox.release("slow relay", [id]);
			expect(await pending()).toBe(1);
			expect(await outbox.retryFailedNow()).toBe(0);
			expect(await outbox.claim("third relay", 10, 1000)).toEqual([]);
			await outbox.delivered("next relay", id);
			expect(await pending()).toBe(0);
		});

		it("gives a killed relay's claimed messages to another relay once its lease ends, and to no one before", async () => {
			for (let i = 0; i < 3; i++) await outbox.transaction(messages => messages.add("test.things", { i }));
			// The first relay claims the batch and dies before sending: its lease is all that is left.
			const claimed = await outbox.claim("dead relay", 100, 400);
			expect(claimed).toHaveLength(3);
			const backend = fakeBackend();
			const survivor = relay(backend.send);
			expect(await survivor.runOnce()).toEqual({ sent: 0, failed: 0 });
			await new Promise(resolve => setTimeout(resolve, 500));
			expect(await survivor.runOnce()).toEqual({ sent: 3, failed: 0 });
			expect(backend.accepted.map(m => m.id)).toEqual(claimed.map(m => m.id));
		});

		it("waits for the send under way when stopped, and leaves the rest for the next relay", async () => {
			for (let i = 0; i < 5; i++) await outbox.transaction(messages => messages.add("test.things", { i }));
			let release!: () => void;
			const gate = new Promise<void>(resolve => (release = resolve));
			const sent: unknown[] = [];
			const r = relay(async message => {
				await gate;
				sent.push(message.payload);
			});
			r.start();
			await new Promise(resolve => setTimeout(resolve, 50));
			const stopping = r.stop();
			release();
			await stopping;
			expect(sent).toEqual([{ i: 0 }]);
			// Given back, due at once: the next relay does not wait out a lease.
			const next = fakeBackend();
			expect(await relay(next.send).runOnce()).toEqual({ sent: 4, failed: 0 });
		});

		it("acts on a message once per consumer, with the work and the record committing together", async () => {
			const inbox = new Inbox(db.client, db.schema, outbox);
			const id = messageId();
			const effects: string[] = [];
			const failing = rejectionOf(inbox.once("partners", id, async () => Promise.reject(new Error("database hiccup"))));
			expect(await failing).toMatchObject({ message: "database hiccup" });
			// The failure rolled the record back: the redelivery is acted on.
			expect(
				await inbox.once("partners", id, async (messages, tx) => {
					effects.push("first");
					await tx.query("select 1");
					await (messages as unknown as MessageWriter<TestChannels>).add("test.effects", { of: id });
				}),
			).toBe(true);
			expect(await inbox.once("partners", id, async () => void effects.push("again"))).toBe(false);
			expect(await inbox.once("users", id, async () => void effects.push("other consumer"))).toBe(true);
			expect(effects).toEqual(["first", "other consumer"]);
			expect((await outbox.claim("test", 10, 1000)).map(m => m.payload)).toEqual([{ of: id }]);
			// Messages from outside any outbox carry no id: acted on every time.
			expect(await inbox.once("partners", undefined, async () => undefined)).toBe(true);
			expect(await inbox.once("partners", undefined, async () => undefined)).toBe(true);
		});

		it("answers a repeated Idempotency-Key with the first response, and refuses it for another request", async () => {
			const keys = new IdempotencyKeys(db.client, db.schema);
			let created = 0;
			const create = (name: string) =>
				db.client.transaction(tx => keys.run(tx, "partners.create:alice", "key-1", { name }, async () => ({ status: 201, location: `/things/${++created}`, body: { name, n: created } })));
			expect(await create("Acme")).toEqual({ status: 201, location: "/things/1", body: { name: "Acme", n: 1 }, replayed: false });
			expect(await create("Acme")).toEqual({ status: 201, location: "/things/1", body: { name: "Acme", n: 1 }, replayed: true });
			expect(await rejectionOf(create("Other name"))).toMatchObject({ type: "IDEMPOTENCY_KEY_REUSED", code: 422 });
			// Another caller's key of the same text is theirs alone.
			const theirs = await db.client.transaction(tx => keys.run(tx, "partners.create:bob", "key-1", { name: "Acme" }, async () => ({ status: 201, body: "bob's" })));
			expect(theirs).toEqual({ status: 201, body: "bob's", replayed: false });
			expect(created).toBe(1);
		});

		it("forgets a key whose request failed, so the retry runs", async () => {
			const keys = new IdempotencyKeys(db.client, db.schema);
			await rejectionOf(db.client.transaction(tx => keys.run(tx, "s", "k-fail", {}, async () => Promise.reject(new Error("refused")))));
			expect(await db.client.transaction(tx => keys.run(tx, "s", "k-fail", {}, async () => ({ status: 201, body: 1 })))).toMatchObject({ replayed: false });
		});

		it("keeps keys for a day", async () => {
			const keys = new IdempotencyKeys(db.client, db.schema);
			await db.client.transaction(tx => keys.run(tx, "s", "old", {}, async () => ({ status: 201, body: "first" })));
			await db.client.query(`update "${db.schema}".idempotency_keys set created_at = now() - interval '25 hours' where key = 'old'`);
			// Expired but not yet purged: a new request under the key runs.
			expect(await db.client.transaction(tx => keys.run(tx, "s", "old", { other: true }, async () => ({ status: 201, body: "second" })))).toMatchObject({ body: "second", replayed: false });
			await db.client.query(`update "${db.schema}".idempotency_keys set created_at = now() - interval '25 hours' where key = 'old'`);
			expect(await keys.purge()).toBeGreaterThanOrEqual(1);
		});
	});
});

describeWithBackend("postgres", "outbox on PostgreSQL with concurrent connections", pg => {
	const db = useMigratedSchema(
		async () => {
			const client = openTestPostgres(pg.url);
			return { client, dispose: () => client.close() };
		},
		"outbox_race",
		[],
	);
	let other: SqlClient;
	beforeAll(() => {
		other = openTestPostgres(pg.url);
	});
	afterAll(() => other.close());

	it("never gives one message to two relays claiming at once", async () => {
		const outbox = new Outbox<TestChannels>(db.client, db.schema);
		for (let i = 0; i < 200; i++) await outbox.transaction(messages => messages.add("test.things", { i }));
		const relays = [
			new Outbox<TestChannels>(db.client, db.schema),
			new Outbox<TestChannels>(other, db.schema),
			new Outbox<TestChannels>(db.client, db.schema),
			new Outbox<TestChannels>(other, db.schema),
		];
		const claims = await Promise.all(relays.map((r, i) => r.claim(`relay-${i}`, 80, 60_000)));
		const ids = claims.flat().map(m => m.id);
		expect(ids).toHaveLength(200);
		expect(new Set(ids).size).toBe(200);
	});

	it("runs the creation once when the same key arrives twice at the same moment", async () => {
		const keys = [new IdempotencyKeys(db.client, db.schema), new IdempotencyKeys(other, db.schema)];
		let created = 0;
		const attempt = (k: IdempotencyKeys, client: SqlClient) =>
			client.transaction(tx =>
				k.run(tx, "partners.create:carol", "same-moment", { name: "Acme" }, async () => {
					created++;
					await new Promise(resolve => setTimeout(resolve, 100));
					return { status: 201, body: { n: created } };
				}),
			);
		const [a, b] = await Promise.all([attempt(keys[0], db.client), attempt(keys[1], other)]);
		expect(created).toBe(1);
		expect(a.body).toEqual(b.body);
		expect([a.replayed, b.replayed].sort()).toEqual([false, true]);

		// An expired key (not purged yet) is taken over by one of two requests arriving together.
		await db.client.query(`update "${db.schema}".idempotency_keys set created_at = now() - interval '25 hours' where key = 'same-moment'`);
		const [c, d] = await Promise.all([attempt(keys[0], db.client), attempt(keys[1], other)]);
		expect(created).toBe(2);
		expect(c.body).toEqual(d.body);
	});
});

it("backs off exponentially up to its cap, with jitter", () => {
	const backoff = { initialMs: 100, maxMs: 1000 };
	expect([1, 2, 3, 4, 5, 10].map(n => backoffDelay(n, backoff, () => 0.5))).toEqual([100, 200, 400, 800, 1000, 1000]);
	expect(backoffDelay(1, backoff, () => 0)).toBe(80);
	expect(backoffDelay(1, backoff, () => 1)).toBe(120);
});
