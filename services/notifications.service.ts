/**
 * Each user's inbox (domain/notifications/): made from other domains' durable events (play
 * progress, reward claims, partner status, hunts taken down), read and marked read over REST, and
 * announced on `notification.created` for the gateway nodes to push live (server-sent events and
 * WebSocket, see the gateway). A closed account's notifications go with it.
 */
import type { Context } from "moleculer";
import { USER_DELETED_CHANNEL } from "../contracts/auth";
import { PROGRESS_CHANNEL, type ProgressMessage } from "../contracts/gameplay";
import { HUNTS_CHANNEL, type HuntChangeMessage } from "../contracts/hunts";
import { notificationsContract } from "../contracts/notifications";
import { PARTNER_STATUS_CHANNEL } from "../contracts/partners";
import { REWARD_CLAIMED_CHANNEL, type RewardClaimedMessage } from "../contracts/rewards";
import { InboxStore, NOTIFICATIONS_MIGRATIONS } from "../domain/notifications/inbox-store";
import { NotificationFlows } from "../domain/notifications/notification-flows";
import { fromHuntChange, fromPartnerStatus, fromProgress, fromRewardClaimed, type NotificationDraft, type PartnerStatusChange } from "../domain/notifications/notification-rules";
import { userOf } from "../platform/moleculer/authorization";
import { channelMessageOf } from "../platform/moleculer/channel-security";
import { broadcast } from "../platform/moleculer/contract-calls";
import { defineService } from "../platform/moleculer/define-service";
import { callAsService } from "../platform/moleculer/service-identity";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import { ServiceDatabase } from "../mixins/database.mixin";
import type { ServiceDeps } from "./deps";

export function createNotificationsService({ backends }: ServiceDeps) {
	const database = new ServiceDatabase(backends, "notifications", NOTIFICATIONS_MIGRATIONS);
	let flows!: NotificationFlows;

	/**
	 * Stores what the message means, once per message (its signed id names what it made: delivered
	 * again, nothing is stored twice). Thrown without an id, so it is retried then dead-lettered.
	 */
	const deliver = async (ctx: Context, drafts: (ctx: Context) => Promise<NotificationDraft[]> | NotificationDraft[]) => {
		const messageId = channelMessageOf(ctx)?.id;
		if (!messageId) throw new Error("notifications: a channel message without a signed message id (not sent through an outbox)");
		await flows.deliver(await drafts(ctx), messageId);
	};
	const membersOf = async (ctx: Context, partnerId: string) => (await callAsService(ctx.broker, "notifications", "partners.members", { id: partnerId }, ctx)).members.map(member => member.userId);

	return defineService(notificationsContract, {
		mixins: [database.mixin(), AccessControlMixin()],
		settings: { rest: "/" },

		actions: {
			list: {
				rest: "GET /notifications",
				access: "user",
				openapi: {
					summary: "Your inbox, newest first, with how many are unread; `next` pages back. Live: GET /api/notifications/stream (server-sent events) or the WebSocket at /api/notifications/ws",
					tags: ["notifications"],
				},
				handler(ctx) {
					return flows.list(userOf(ctx).userId, ctx.params.before, ctx.params.limit);
				},
			},

			markRead: {
				rest: "POST /notifications/read",
				access: "user",
				openapi: { summary: "Mark some of your notifications read (others' ids change nothing)", tags: ["notifications"] },
				handler(ctx) {
					return flows.markRead(userOf(ctx).userId, ctx.params.ids);
				},
			},

			since: {
				// The gateway's live connections resume from this, with the token each was opened with.
				access: "user",
				handler(ctx) {
					return flows.since(userOf(ctx).userId, ctx.params.after, ctx.params.limit);
				},
			},

			preferences: {
				rest: "GET /notifications/preferences",
				access: "user",
				openapi: { summary: "Which kinds of notification are pushed live to you (all land in your inbox)", tags: ["notifications"] },
				async handler(ctx) {
					return { push: await flows.pushPreferences(userOf(ctx).userId) };
				},
			},

			setPreferences: {
				rest: "PUT /notifications/preferences",
				access: "user",
				openapi: { summary: "Choose which kinds of notification are pushed live to you; kinds left out keep their setting", tags: ["notifications"] },
				async handler(ctx) {
					return { push: await flows.setPushPreferences(userOf(ctx).userId, ctx.params.push) };
				},
			},

			inspect: {
				// The REPL's `notifications <userId>`.
				access: "admin",
				handler(ctx) {
					return flows.inspect(ctx.params.userId.toLowerCase(), ctx.params.limit);
				},
			},
		},

		channels: {
			[PROGRESS_CHANNEL]: {
				group: "notifications",
				handler: (ctx: Context<ProgressMessage>) => deliver(ctx, () => fromProgress(ctx.params)),
			},
			[REWARD_CLAIMED_CHANNEL]: {
				group: "notifications",
				handler: (ctx: Context<RewardClaimedMessage>) => deliver(ctx, () => fromRewardClaimed(ctx.params)),
			},
			[PARTNER_STATUS_CHANNEL]: {
				group: "notifications",
				handler: (ctx: Context<PartnerStatusChange>) => deliver(ctx, async () => fromPartnerStatus(ctx.params, await membersOf(ctx, ctx.params.partnerId))),
			},
			[HUNTS_CHANNEL]: {
				group: "notifications",
				handler: (ctx: Context<HuntChangeMessage>) => deliver(ctx, async () => (ctx.params.kind === "unpublished" ? fromHuntChange(ctx.params, await membersOf(ctx, ctx.params.partnerId)) : [])),
			},
			[USER_DELETED_CHANNEL]: {
				group: "notifications",
				async handler(ctx: Context<{ userId: string }>) {
					await flows.forget(ctx.params.userId);
				},
			},
		},

		started() {
			const broker = this.broker;
			flows = new NotificationFlows(new InboxStore(database.db, "notifications"), {
				announce: event => broadcast(broker, "notification.created", event),
				now: Date.now,
			});
		},
	});
}
