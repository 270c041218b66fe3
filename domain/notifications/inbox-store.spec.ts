/**
 * Inboxes on PGlite and PostgreSQL: numbers per user that only grow, without gaps or repeats under
 * concurrent arrivals; an event delivered twice stored once; replay after a number; read marks
 * confined to their owner.
 */
import { randomUUID } from "node:crypto";
import { onEverySqlEngine, useMigratedSchema } from "../../test/support/sql";
import { InboxStore, NOTIFICATIONS_MIGRATIONS, type NewNotification } from "./inbox-store";

onEverySqlEngine((engine, open) => {
	describe(`inbox store on ${engine}`, () => {
		const db = useMigratedSchema(open, "notifications", NOTIFICATIONS_MIGRATIONS);
		let inbox: InboxStore;
		beforeAll(() => {
			inbox = new InboxStore(db.client, db.schema);
		});
		const note = (userId: string, sourceId = randomUUID()): NewNotification => ({ userId, sourceId, kind: "clue.discovered", title: "Found!", body: "You found a clue", data: { sourceId } });

		it("numbers a user's notifications 1, 2, 3… however many arrive at once, each user on their own", async () => {
			const [ann, bob] = [randomUUID(), randomUUID()];
			const stored = await Promise.all([...Array.from({ length: 60 }, () => inbox.add(note(ann), new Date())), ...Array.from({ length: 15 }, () => inbox.add(note(bob), new Date()))]);
			expect(stored.every(Boolean)).toBe(true);
			expect((await inbox.after(ann, 0, 1000)).map(n => n.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
			expect((await inbox.after(bob, 0, 1000)).map(n => n.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
		}, 60_000);

		it("stores an event delivered twice once, without using up a number", async () => {
			const user = randomUUID();
			const sourceId = randomUUID();
			const results = await Promise.all([inbox.add(note(user, sourceId), new Date()), inbox.add(note(user, sourceId), new Date())]);
			expect(results.filter(Boolean)).toHaveLength(1);
			expect((await inbox.add(note(user), new Date()))!.seq).toBe(2);
			expect((await inbox.after(user, 0, 10)).map(n => n.data.sourceId)).toHaveLength(2);
		});

		it("replays what came after a number in order, and pages the inbox newest first", async () => {
			const user = randomUUID();
			for (let i = 0; i < 7; i++) await inbox.add(note(user), new Date());
			expect((await inbox.after(user, 4, 10)).map(n => n.seq)).toEqual([5, 6, 7]);
			expect((await inbox.after(user, 7, 10)).map(n => n.seq)).toEqual([]);
			expect((await inbox.page(user, undefined, 3)).map(n => n.seq)).toEqual([7, 6, 5]);
			expect((await inbox.page(user, 5, 3)).map(n => n.seq)).toEqual([4, 3, 2]);
		});

		it("counts unread, and marks read only the owner's, once", async () => {
			const [owner, other] = [randomUUID(), randomUUID()];
			for (let i = 0; i < 3; i++) await inbox.add(note(owner), new Date());
			await inbox.add(note(other), new Date());
			expect(await inbox.unread(owner)).toBe(3);
			expect(await inbox.markRead(other, [1, 2, 3], new Date())).toBe(1);
			expect(await inbox.unread(owner)).toBe(3);
			expect(await inbox.markRead(owner, [1, 3, 99], new Date())).toBe(2);
			expect(await inbox.markRead(owner, [1, 3], new Date())).toBe(0);
			expect(await inbox.unread(owner)).toBe(1);
			expect((await inbox.page(owner, undefined, 10)).map(n => n.readAt !== null)).toEqual([true, false, true]);
		});
		it("finds what an event stored, keeps each user's push choices, and forgets a closed account entirely", async () => {
			const [user, other] = [randomUUID(), randomUUID()];
			const sourceId = randomUUID();
			expect(await inbox.lastSeq(user)).toBe(0);
			const stored = await inbox.add(note(user, sourceId), new Date());
			await inbox.add(note(other, sourceId), new Date());
			expect(await inbox.bySource(user, sourceId)).toEqual(stored);
			expect(await inbox.bySource(user, randomUUID())).toBeUndefined();
			expect(await inbox.lastSeq(user)).toBe(1);
			await inbox.setPushPreferences(user, { clue_discovered: false, reward_won: true, hunt_completed: undefined });
			await inbox.setPushPreferences(user, { reward_won: false });
			expect(await inbox.pushPreferences(user)).toEqual({ clue_discovered: false, reward_won: false });
			expect(await inbox.pushPreferences(other)).toEqual({});
			await inbox.forget(user);
			expect(await inbox.after(user, 0, 10)).toEqual([]);
			expect(await inbox.pushPreferences(user)).toEqual({});
			expect(await inbox.lastSeq(user)).toBe(0);
			expect(await inbox.after(other, 0, 10)).toHaveLength(1);
		});
	});
});
