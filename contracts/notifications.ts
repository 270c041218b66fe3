/**
 * Each user's inbox, made from durable events of other domains, and the live push of it through the
 * gateway (server-sent events and WebSocket). PRODUCT.md's shapes: `GET /api/notifications` →
 * `{ items: [{ id, kind, title, body, data, createdAt, readAt? }], unread, next? }`.
 */
import { Defaulted, T, defineContract, withValidation, type Static, type TSchema } from "./kit";
import { IsoDateTime, Uuid } from "./identity";

export const NOTIFICATION_KINDS = [
	"clue_discovered",
	"hunt_completed",
	"reward_won",
	"partner_verified",
	"partner_suspended",
	"hunt_unpublished",
	"participation_suspended",
	"participation_reinstated",
	"participation_disqualified",
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];
const Kind = () => T.Union(NOTIFICATION_KINDS.map(kind => T.Literal(kind)));

/** A user's notification number: each user's count up from 1, never reused, what a live client resumes after. */
const Seq = () => T.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

const Notification = T.Object(
	{
		id: Seq(),
		kind: Kind(),
		title: T.String(),
		body: T.String(),
		data: T.Record(T.String(), T.Unknown(), { description: "What the notification is about (huntId, clueId, rewardId, …) for a client to link to" }),
		createdAt: IsoDateTime(),
		readAt: T.Optional(IsoDateTime()),
	},
	{ title: "Notification" },
);

/** One flag per kind of notification, each of the schema `flag` makes. */
const perKind = <S extends TSchema>(flag: () => S) => Object.fromEntries(NOTIFICATION_KINDS.map(kind => [kind, flag()])) as { [K in NotificationKind]: S };
const PUSH_DESCRIPTION = "Per kind, whether it is pushed live (by default every kind is). Every notification still lands in the inbox.";
const Preferences = T.Object(
	{
		push: T.Object(
			perKind(() => T.Boolean()),
			{ additionalProperties: false, description: PUSH_DESCRIPTION },
		),
	},
	{ title: "NotificationPreferences" },
);

export const notificationsContract = defineContract({
	service: "notifications",
	description: "Each user's inbox and what is pushed live to their connected clients",
	actions: {
		list: {
			params: T.Object({
				before: T.Optional(withValidation(Seq(), { convert: true })),
				limit: Defaulted(withValidation(T.Integer({ minimum: 1, maximum: 100 }), { convert: true }), 20),
			}),
			result: T.Object({ items: T.Array(Notification), unread: T.Integer({ minimum: 0 }), next: T.Optional(T.String({ description: "Pass as `before` for the older page" })) }),
		},
		markRead: {
			params: T.Object({ ids: T.Array(Seq(), { minItems: 1, maxItems: 200 }) }, { additionalProperties: false }),
			result: T.Object({ marked: T.Integer({ minimum: 0 }), unread: T.Integer({ minimum: 0 }) }),
		},
		/** What a live client missed: the caller's notifications after `after` that their preferences push, oldest first. */
		since: {
			params: T.Object({ after: T.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }), limit: Defaulted(T.Integer({ minimum: 1, maximum: 1000 }), 500) }),
			result: T.Object({ items: T.Array(Notification), last: T.Integer({ minimum: 0, description: "The user's newest number, pushed or not" }) }),
		},
		preferences: { result: Preferences },
		setPreferences: {
			params: T.Object(
				{
					push: T.Object(
						perKind(() => T.Optional(T.Boolean())),
						{ additionalProperties: false, description: PUSH_DESCRIPTION },
					),
				},
				{ additionalProperties: false },
			),
			result: Preferences,
		},
		/** Operators: a user's newest notifications and unread count. */
		inspect: {
			params: T.Object({ userId: Uuid(), limit: Defaulted(T.Integer({ minimum: 1, maximum: 100 }), 20) }),
			result: T.Object({ items: T.Array(Notification), unread: T.Integer({ minimum: 0 }) }),
		},
	},
	events: {
		"notification.created": {
			description: "A notification was stored in a user's inbox. Broadcast: the gateway node holding the user's live connections pushes it when `push` is true (the user's preferences).",
			payload: T.Object({ userId: Uuid(), push: T.Boolean(), notification: Notification }),
		},
	},
	channels: {},
});

export type NotificationView = Static<typeof Notification>;
export type NotificationPreferencesView = Static<typeof Preferences>;
export type NotificationCreatedEvent = Static<(typeof notificationsContract.events)["notification.created"]["payload"]>;
