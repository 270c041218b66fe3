/**
 * The partners domain: organisations with members (owners and editors), created pending and
 * verified or suspended by admins.
 */
import { Defaulted, T, defineContract, withValidation, type Static } from "./kit";
import { IsoDateTime, PartnerRoleSchema, Uuid } from "./identity";

const PartnerStatusSchema = () => T.Union([T.Literal("pending"), T.Literal("verified"), T.Literal("suspended")]);
const Trimmed = <S extends ReturnType<typeof T.String>>(schema: S) => withValidation(schema, { trim: true });
const Name = () => Trimmed(T.String({ minLength: 2, maxLength: 120 }));
const Text = () => T.Optional(withValidation(T.Union([T.String({ maxLength: 2000 }), T.Null()]), { trim: true }));
const Website = () => T.Optional(T.Union([T.String({ format: "uri", maxLength: 2048 }), T.Null()]));
const Contact = () => T.Optional(T.Union([T.String({ format: "email", maxLength: 254 }), T.Null()]));

const publicFields = { id: Uuid(), name: T.String(), website: T.Union([T.String(), T.Null()]), status: PartnerStatusSchema() };

/**
 * Exactly these four fields: nothing more, so a members' view (which has `members`) never also
 * matches the public branch of GET /api/partners/:id's `oneOf`.
 */
const PartnerPublic = T.Object(publicFields, { additionalProperties: false, title: "PartnerPublic" });
const PartnerMember = T.Object({ userId: Uuid(), role: PartnerRoleSchema(), addedAt: IsoDateTime() });
const Partner = T.Object(
	{
		...publicFields,
		description: T.Union([T.String(), T.Null()]),
		contactEmail: T.Union([T.String(), T.Null()]),
		createdAt: IsoDateTime(),
		statusReason: T.Union([T.String(), T.Null()]),
		members: T.Array(PartnerMember),
	},
	{ title: "Partner" },
);
/** Durable: a partner's status changed (verified or suspended). */
export const PARTNER_STATUS_CHANNEL = "partners.status";

const Membership = T.Object({ id: Uuid(), userId: Uuid() });
const At = () => IsoDateTime();

export const partnersContract = defineContract({
	service: "partners",
	description: "Partner organisations and their members",
	actions: {
		create: { params: T.Object({ name: Name(), description: Text(), website: Website(), contactEmail: Contact() }, { additionalProperties: false }), result: Partner },
		mine: { result: T.Array(Partner) },
		get: { params: T.Object({ id: Uuid() }), result: T.Union([Partner, PartnerPublic]) },
		update: {
			params: T.Object({ id: Uuid(), name: T.Optional(Name()), description: Text(), website: Website(), contactEmail: Contact() }, { additionalProperties: false }),
			result: Partner,
		},
		setMember: { params: T.Composite([Membership, T.Object({ role: PartnerRoleSchema() })]), result: Partner },
		removeMember: { params: Membership },
		verify: { params: T.Object({ id: Uuid() }), result: Partner },
		suspend: { params: T.Object({ id: Uuid(), reason: Trimmed(T.String({ minLength: 1, maxLength: 500 })) }), result: Partner },
		list: {
			params: T.Object({
				status: T.Optional(PartnerStatusSchema()),
				limit: Defaulted(withValidation(T.Integer({ minimum: 1, maximum: 200 }), { convert: true }), 50),
				offset: Defaulted(withValidation(T.Integer({ minimum: 0, maximum: 1_000_000 }), { convert: true }), 0),
			}),
			result: T.Array(Partner),
		},
		ownedAlone: { result: T.Object({ partnerIds: T.Array(Uuid()) }) },
		membershipsOf: { params: T.Object({ userId: Uuid() }), result: T.Record(T.String(), PartnerRoleSchema()) },
		/** Services telling a partner's people something (notifications). */
		members: { params: T.Object({ id: Uuid() }), result: T.Object({ members: T.Array(T.Object({ userId: Uuid(), role: PartnerRoleSchema() })) }) },
	},
	events: {
		"partner.created": { description: "A partner was created (pending); its creator is its owner.", payload: T.Object({ partnerId: Uuid(), ownerId: Uuid(), at: At() }) },
		"partner.verified": { description: "An admin verified a partner: its members may publish hunts.", payload: T.Object({ partnerId: Uuid(), at: At() }) },
		"partner.suspended": {
			description: "An admin suspended a partner: its hunts are hidden from players until it is verified again.",
			payload: T.Object({ partnerId: Uuid(), reason: T.Union([T.String(), T.Null()]), at: At() }),
		},
		"partner.membership.changed": {
			description: "A member was added, changed role or left; `role` is null when they left.",
			payload: T.Object({ partnerId: Uuid(), userId: Uuid(), role: T.Union([PartnerRoleSchema(), T.Null()]), at: At() }),
		},
	},
	channels: {
		[PARTNER_STATUS_CHANNEL]: {
			description: "A partner was verified or suspended: services holding its content show or hide it (hunts of a suspended partner are hidden from players).",
			payload: T.Object({ partnerId: Uuid(), name: T.String(), status: T.Union([T.Literal("verified"), T.Literal("suspended")]), reason: T.Union([T.String(), T.Null()]), at: At() }),
			partitionKey: "partnerId",
		},
	},
});

export type PartnerStatus = Static<ReturnType<typeof PartnerStatusSchema>>;
export type PartnerPublicView = Static<typeof PartnerPublic>;
export type PartnerMember = Static<typeof PartnerMember>;
export type PartnerView = Static<typeof Partner>;
export type NewPartner = Static<(typeof partnersContract.actions)["create"]["params"]>;
