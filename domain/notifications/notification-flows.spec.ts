/**
 * Delivering notifications, on PGlite and PostgreSQL: each stored once and announced with whether
 * its user has it pushed; an event delivered again announced again (its first delivery may have
 * stopped before announcing) but stored once; what a live client missed, as its preferences push it.
 */
import { randomUUID } from "node:crypto";
import type { NotificationCreatedEvent } from "../../contracts/notifications";
import { onEverySqlEngine, useMigratedSchema } from "../../test/support/sql";
import { InboxStore, NOTIFICATIONS_MIGRATIONS } from "./inbox-store";
import { NotificationFlows } from "./notification-flows";
import type { NotificationDraft } from "./notification-rules";

onEverySqlEngine((engine, open) => {
	describe(`notification flows on ${engine}`, () => {
		const db = useMigratedSchema(open, "notifications", NOTIFICATIONS_MIGRATIONS);
		const announced: NotificationCreatedEvent[] = [];
		let flows: NotificationFlows;
		beforeAll(() => {
			flows = new NotificationFlows(new InboxStore(db.client, db.schema), { announce: async event => void announced.push(event), now: () => Date.parse("2026-12-02T10:00:00Z") });
		});
		beforeEach(() => {
			announced.length = 0;
		});
		const draft = (userId: string, kind: NotificationDraft["kind"] = "clue_discovered"): NotificationDraft => ({
			userId,
			kind,
			title: "Clue found",
			body: "You found it",
			data: { clueId: randomUUID() },
		});

		it("stores an event's notifications once and announces them each time it is delivered", async () => {
			const [ann, bob] = [randomUUID(), randomUUID()];
			const sourceId = randomUUID();
			expect(await flows.deliver([draft(ann), draft(bob)], sourceId)).toBe(2);
			expect(await flows.deliver([draft(ann), draft(bob)], sourceId)).toBe(0);
			expect(announced.map(event => [event.userId, event.notification.id, event.push])).toEqual([
				[ann, 1, true],
				[bob, 1, true],
				[ann, 1, true],
				[bob, 1, true],
			]);
			expect((await flows.list(ann, undefined, 10)).items).toHaveLength(1);
		});

		it("announces a kind the user turned off as not pushed, and leaves it out of what a live client missed", async () => {
			const user = randomUUID();
			await flows.setPushPreferences(user, { clue_discovered: false });
			await flows.deliver([draft(user)], randomUUID());
			await flows.deliver([draft(user, "hunt_completed")], randomUUID());
			expect(announced.map(event => [event.notification.kind, event.push])).toEqual([
				["clue_discovered", false],
				["hunt_completed", true],
			]);
			const missed = await flows.since(user, 0, 10);
			expect(missed.items.map(item => [item.id, item.kind])).toEqual([[2, "hunt_completed"]]);
			expect(missed.last).toBe(2);
			// Still in the inbox: preferences choose what is pushed, not what is kept.
			expect((await flows.list(user, undefined, 10)).items.map(item => item.kind)).toEqual(["hunt_completed", "clue_discovered"]);
		});

		it("pages with a cursor that is the last id shown, and none after the last page", async () => {
			const user = randomUUID();
			for (let i = 0; i < 5; i++) await flows.deliver([draft(user)], randomUUID());
			const first = await flows.list(user, undefined, 2);
			expect([first.items.map(item => item.id), first.next, first.unread]).toEqual([[5, 4], "4", 5]);
			const last = await flows.list(user, 2, 2);
			expect([last.items.map(item => item.id), last.next]).toEqual([[1], undefined]);
			expect(await flows.markRead(user, [1, 1, 5])).toEqual({ marked: 2, unread: 3 });
		});
	});
});
