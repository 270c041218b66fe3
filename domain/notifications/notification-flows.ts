/**
 * The notifications use cases: events of other domains stored in their users' inboxes (each once,
 * under the user's next number) and announced for live push; the inbox read a page at a time,
 * marked read; what a reconnecting live client missed; what each user has pushed.
 */
import { NOTIFICATION_KINDS, type NotificationCreatedEvent, type NotificationKind, type NotificationView } from "../../contracts/notifications";
import type { InboxStore, StoredNotification } from "./inbox-store";
import type { NotificationDraft } from "./notification-rules";

export interface NotificationPorts {
	/** Tells every gateway node (the one holding the user's live connections pushes it). */
	announce(event: NotificationCreatedEvent): Promise<void>;
	now(): number;
}

export class NotificationFlows {
	constructor(
		private readonly inbox: InboxStore,
		private readonly ports: NotificationPorts,
	) {}

	/**
	 * Stores each draft made from the event `sourceId` and announces it. A redelivered event stores
	 * nothing new but announces what it stored the first time: the first delivery may have stopped
	 * between storing and announcing (a live client drops what it already has).
	 */
	async deliver(drafts: readonly NotificationDraft[], sourceId: string): Promise<number> {
		let stored = 0;
		for (const draft of drafts) {
			const added = await this.inbox.add({ ...draft, sourceId }, new Date(this.ports.now()));
			if (added) stored++;
			const notification = added ?? (await this.inbox.bySource(draft.userId, sourceId));
			if (!notification) continue;
			const push = (await this.pushPreferences(draft.userId))[notification.kind as NotificationKind] !== false;
			await this.ports.announce({ userId: draft.userId, push, notification: viewOf(notification) });
		}
		return stored;
	}

	async list(userId: string, before: number | undefined, limit: number): Promise<{ items: NotificationView[]; unread: number; next?: string }> {
		const [page, unread] = await Promise.all([this.inbox.page(userId, before, limit + 1), this.inbox.unread(userId)]);
		const items = page.slice(0, limit).map(viewOf);
		return { items, unread, ...(page.length > limit ? { next: String(items[items.length - 1].id) } : {}) };
	}

	async markRead(userId: string, ids: readonly number[]): Promise<{ marked: number; unread: number }> {
		const marked = await this.inbox.markRead(userId, [...new Set(ids)], new Date(this.ports.now()));
		return { marked, unread: await this.inbox.unread(userId) };
	}

	/** What a live client missed after `after`: the kinds the user has pushed, oldest first, and their newest number. */
	async since(userId: string, after: number, limit: number): Promise<{ items: NotificationView[]; last: number }> {
		const [missed, preferences, last] = await Promise.all([this.inbox.after(userId, after, limit), this.pushPreferences(userId), this.inbox.lastSeq(userId)]);
		return { items: missed.filter(notification => preferences[notification.kind as NotificationKind] !== false).map(viewOf), last };
	}

	/** Every kind with whether it is pushed (by default it is). */
	async pushPreferences(userId: string): Promise<Record<NotificationKind, boolean>> {
		const chosen = await this.inbox.pushPreferences(userId);
		return Object.fromEntries(NOTIFICATION_KINDS.map(kind => [kind, chosen[kind] ?? true])) as Record<NotificationKind, boolean>;
	}

	async setPushPreferences(userId: string, push: Partial<Record<NotificationKind, boolean>>): Promise<Record<NotificationKind, boolean>> {
		await this.inbox.setPushPreferences(userId, push);
		return this.pushPreferences(userId);
	}

	async inspect(userId: string, limit: number): Promise<{ items: NotificationView[]; unread: number }> {
		const { items, unread } = await this.list(userId, undefined, limit);
		return { items, unread };
	}

	forget(userId: string): Promise<void> {
		return this.inbox.forget(userId);
	}
}

export function viewOf(notification: StoredNotification): NotificationView {
	return {
		id: notification.seq,
		kind: notification.kind as NotificationView["kind"],
		title: notification.title,
		body: notification.body,
		data: notification.data,
		createdAt: notification.createdAt.toISOString(),
		...(notification.readAt ? { readAt: notification.readAt.toISOString() } : {}),
	};
}
