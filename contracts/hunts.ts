/**
 * The hunts domain: partners design hunts (places, each hiding a clue, joined by paths); players
 * find published ones. The shapes are PRODUCT.md's "Hunts and play"; field names never change.
 */
import { Defaulted, T, defineContract, withValidation, type Static } from "./kit";
import { IsoDateTime, PRINTABLE_TEXT, Uuid } from "./identity";

const Latitude = () => T.Number({ minimum: -90, maximum: 90 });
const Longitude = () => T.Number({ minimum: -180, maximum: 180 });
const Position = () => T.Object({ lat: Latitude(), lon: Longitude() });
/** Text a person reads: trimmed, printable (no control or direction-override characters). */
const Text = (minLength: number, maxLength: number) => withValidation(T.String({ minLength, maxLength, pattern: PRINTABLE_TEXT.source }), { trim: true });
/** Longer text may hold line breaks. */
const LongText = (maxLength: number) => withValidation(T.String({ minLength: 1, maxLength }), { trim: true });
const Tag = () => withValidation(T.String({ minLength: 1, maxLength: 40, pattern: "^[\\p{L}\\p{N}][\\p{L}\\p{N} _-]*$" }), { trim: true });
/** A date and time with a zone: read the same in every time zone. */
const Instant = () => T.String({ format: "date-time", pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$" });

const Area = () => T.Object({ lat: Latitude(), lon: Longitude(), radiusM: T.Integer({ minimum: 50, maximum: 50_000 }) }, { additionalProperties: false });
const Visibility = () => T.Union([T.Literal("public"), T.Literal("private")]);
const Status = () => T.Union([T.Literal("draft"), T.Literal("published"), T.Literal("archived")]);
const Hint = () => T.Object({ text: Text(1, 500), cost: T.Integer({ minimum: 0, maximum: 1000 }) }, { additionalProperties: false });
const Zone = () => T.Object({ lat: T.Number(), lon: T.Number(), radiusM: T.Integer() });

const huntFields = {
	title: Text(1, 120),
	description: LongText(5000),
	tags: T.Array(Tag(), { maxItems: 20 }),
	area: Area(),
	startsAt: Instant(),
	endsAt: Instant(),
	visibility: Visibility(),
	capacity: T.Optional(T.Union([T.Integer({ minimum: 1, maximum: 1_000_000 }), T.Null()])),
	difficulty: T.Optional(T.Union([T.Integer({ minimum: 1, maximum: 5 }), T.Null()])),
	timeLimitMinutes: T.Optional(T.Union([T.Integer({ minimum: 1, maximum: 10_080 }), T.Null()])),
	/** How wide the search zones players get are (metres); fixed for each clue at publication. */
	zoneRadiusM: T.Optional(T.Integer({ minimum: 30, maximum: 2000 })),
};

const clueFields = {
	title: Text(1, 120),
	position: Position(),
	radiusM: T.Integer({ minimum: 5, maximum: 500 }),
	content: LongText(5000),
	challenge: T.Optional(T.Union([T.Object({ question: LongText(1000), answer: Text(1, 200) }, { additionalProperties: false }), T.Null()])),
	hints: T.Optional(T.Array(Hint(), { maxItems: 10 })),
	points: T.Integer({ minimum: 0, maximum: 10_000 }),
};

const PathSchema = () => T.Object({ from: Uuid(), to: Uuid() }, { additionalProperties: false });

const Clue = T.Object(
	{
		id: Uuid(),
		title: T.String(),
		position: T.Object({ lat: T.Number(), lon: T.Number() }),
		radiusM: T.Integer(),
		content: T.String(),
		challenge: T.Optional(T.Object({ question: T.String() })),
		hints: T.Array(T.Object({ text: T.String(), cost: T.Integer() })),
		points: T.Integer(),
	},
	{ title: "Clue" },
);

/** What both views show of a hunt. */
const describedFields = () => ({
	title: T.String(),
	description: T.String(),
	tags: T.Array(T.String()),
	area: T.Object({ lat: T.Number(), lon: T.Number(), radiusM: T.Integer() }),
	startsAt: IsoDateTime(),
	endsAt: IsoDateTime(),
	visibility: Visibility(),
	capacity: T.Union([T.Integer(), T.Null()]),
	difficulty: T.Union([T.Integer(), T.Null()]),
	timeLimitMinutes: T.Union([T.Integer(), T.Null()]),
});

const Hunt = T.Object(
	{
		id: Uuid(),
		partnerId: Uuid(),
		...describedFields(),
		zoneRadiusM: T.Integer(),
		status: Status(),
		joinCode: T.Optional(T.String({ description: "Private hunts only; members only" })),
		clues: T.Array(Clue),
		paths: T.Array(T.Object({ from: Uuid(), to: Uuid() })),
		createdAt: IsoDateTime(),
		updatedAt: IsoDateTime(),
		publishedAt: T.Union([IsoDateTime(), T.Null()]),
		moderation: T.Union([T.Object({ reason: T.String(), at: IsoDateTime() }), T.Null()], { description: "Why an admin unpublished it, if one did" }),
	},
	{ title: "Hunt" },
);

const PublicHunt = T.Object(
	{
		id: Uuid(),
		partner: T.Object({ id: Uuid(), name: T.String() }),
		...describedFields(),
		status: Status(),
		clueCount: T.Integer(),
		startZones: T.Array(T.Object({ clueId: Uuid(), zone: Zone() })),
	},
	{ title: "PublicHunt" },
);

const HuntId = () => T.Object({ id: Uuid() });

/**
 * A published (or archived) hunt as the gameplay service needs it to decide a player's reports on
 * its own: every clue's place, geofence, content, challenge (the answer's hash only), hints, points
 * and search zone, and the paths. For other services only, never for a client.
 */
const Playbook = T.Object(
	{
		id: Uuid(),
		partnerId: Uuid(),
		title: T.String(),
		status: T.Union([T.Literal("published"), T.Literal("archived")]),
		partnerSuspended: T.Boolean(),
		startsAt: IsoDateTime(),
		endsAt: IsoDateTime(),
		visibility: Visibility(),
		capacity: T.Union([T.Integer(), T.Null()]),
		timeLimitMinutes: T.Union([T.Integer(), T.Null()]),
		joinCode: T.Union([T.String(), T.Null()]),
		clues: T.Array(
			T.Object({
				id: Uuid(),
				title: T.String(),
				position: T.Object({ lat: T.Number(), lon: T.Number() }),
				radiusM: T.Integer(),
				content: T.String(),
				challenge: T.Union([T.Object({ question: T.String(), answerHash: T.String() }), T.Null()]),
				hints: T.Array(T.Object({ text: T.String(), cost: T.Integer() })),
				points: T.Integer(),
				zone: Zone(),
			}),
		),
		paths: T.Array(T.Object({ from: Uuid(), to: Uuid() })),
	},
	{ title: "Playbook" },
);
const huntChangeFields = () => ({ huntId: Uuid(), partnerId: Uuid(), at: IsoDateTime() });
/** Where a visible hunt is, for the geo index: its area's centre, and whether it may be listed. */
const placement = () => ({ area: T.Object({ lat: T.Number(), lon: T.Number(), radiusM: T.Integer() }), visibility: Visibility() });

/** Durable: every change of a hunt that players can see; the geo index and search follow it. */
export const HUNTS_CHANNEL = "hunts.changed";

export const huntsContract = defineContract({
	service: "hunts",
	description: "Hunts: drafts, clues and paths designed by partners; published hunts players find",
	actions: {
		create: { params: T.Object({ partnerId: Uuid(), ...huntFields }, { additionalProperties: false }), result: Hunt },
		get: { params: HuntId(), result: T.Union([Hunt, PublicHunt]) },
		update: {
			params: T.Object(
				{
					id: Uuid(),
					title: T.Optional(huntFields.title),
					description: T.Optional(huntFields.description),
					tags: T.Optional(huntFields.tags),
					area: T.Optional(huntFields.area),
					startsAt: T.Optional(huntFields.startsAt),
					endsAt: T.Optional(huntFields.endsAt),
					visibility: T.Optional(huntFields.visibility),
					capacity: huntFields.capacity,
					difficulty: huntFields.difficulty,
					timeLimitMinutes: huntFields.timeLimitMinutes,
					zoneRadiusM: huntFields.zoneRadiusM,
				},
				{ additionalProperties: false },
			),
			result: Hunt,
		},
		ofPartner: {
			params: T.Object({ partnerId: Uuid(), status: T.Optional(Status()), limit: Defaulted(withValidation(T.Integer({ minimum: 1, maximum: 200 }), { convert: true }), 50) }),
			result: T.Object({ items: T.Array(Hunt) }),
		},
		addClue: { params: T.Object({ id: Uuid(), ...clueFields }, { additionalProperties: false }), result: Clue },
		updateClue: { params: UpdateClueShape(), result: Clue },
		removeClue: { params: T.Object({ id: Uuid(), clueId: Uuid() }) },
		setPaths: { params: T.Object({ id: Uuid(), paths: T.Array(PathSchema(), { maxItems: 5000 }) }, { additionalProperties: false }), result: Hunt },
		publish: { params: HuntId(), result: Hunt },
		archive: { params: HuntId(), result: Hunt },
		unpublish: { params: T.Object({ id: Uuid(), reason: Text(1, 500) }), result: Hunt },
		rotateJoinCode: { params: HuntId(), result: T.Object({ joinCode: T.String() }) },
		search: {
			params: T.Object({
				lat: T.Optional(withValidation(T.Number({ minimum: -85.05112878, maximum: 85.05112878 }), { convert: true })),
				lon: T.Optional(withValidation(T.Number({ minimum: -180, maximum: 180 }), { convert: true })),
				radius: T.Optional(withValidation(T.Number({ exclusiveMinimum: 0, maximum: 50_000, description: "Metres around lat/lon (default 10 km, at most 50 km)" }), { convert: true })),
				// Empty is no filter: a search box sent empty, as forms do.
				q: T.Optional(Text(0, 200)),
				tags: T.Optional(withValidation(T.String({ minLength: 0, maxLength: 400, description: "Comma-separated; every one must match" }), { trim: true })),
				cursor: T.Optional(T.String({ minLength: 1, maxLength: 200 })),
				limit: Defaulted(withValidation(T.Integer({ minimum: 1, maximum: 50 }), { convert: true }), 20),
			}),
			result: T.Object({ items: T.Array(T.Composite([PublicHunt, T.Object({ distanceM: T.Optional(T.Number()) })])), next: T.Optional(T.String()) }),
		},
		adminList: {
			params: T.Object({
				status: T.Optional(Status()),
				partnerId: T.Optional(Uuid()),
				limit: Defaulted(withValidation(T.Integer({ minimum: 1, maximum: 500 }), { convert: true }), 50),
			}),
			result: T.Object({ items: T.Array(Hunt) }),
		},
		inspect: {
			params: HuntId(),
			result: T.Object({
				hunt: Hunt,
				problems: T.Array(T.Object({ code: T.String(), clueId: T.Optional(Uuid()), message: T.String() })),
				starts: T.Array(Uuid()),
				finishes: T.Array(Uuid()),
				zones: T.Array(T.Object({ clueId: Uuid(), zone: T.Union([Zone(), T.Null()]) })),
			}),
		},
		playbook: { params: HuntId(), result: Playbook },
		/** Services scoping access to a hunt's partner (a draft's too, which has no playbook). */
		ownerOf: { params: HuntId(), result: T.Object({ partnerId: Uuid() }) },
		listed: {
			params: T.Object({ after: T.Optional(Uuid()), limit: Defaulted(withValidation(T.Integer({ minimum: 1, maximum: 1000 }), { convert: true }), 500) }),
			result: T.Object({ items: T.Array(T.Object({ huntId: Uuid(), area: T.Object({ lat: T.Number(), lon: T.Number() }) })), next: T.Optional(Uuid()) }),
		},
	},
	events: {
		"hunt.visibility.changed": {
			description: "What players see of a hunt changed (published, archived, taken down, hidden or shown with its partner). Broadcast: every node's copies of its views go.",
			payload: T.Object({ huntId: Uuid(), at: IsoDateTime() }),
		},
		"hunt.published": { description: "A hunt was published: players can find it (a public one) and join it.", payload: T.Object({ huntId: Uuid(), partnerId: Uuid(), at: IsoDateTime() }) },
		"hunt.archived": { description: "A hunt was archived: players no longer find or join it.", payload: T.Object({ huntId: Uuid(), partnerId: Uuid(), at: IsoDateTime() }) },
		"hunt.unpublished": {
			description: "An admin took a hunt down (back to draft), with a reason.",
			payload: T.Object({ huntId: Uuid(), partnerId: Uuid(), reason: T.String(), at: IsoDateTime() }),
		},
	},
	channels: {
		[HUNTS_CHANNEL]: {
			description:
				"A hunt became visible to players or stopped being so: published, archived, unpublished by an admin, hidden while its partner is suspended, shown again once the partner is verified.",
			payload: T.Union([
				T.Object({ ...huntChangeFields(), kind: T.Literal("published"), ...placement() }),
				T.Object({ ...huntChangeFields(), kind: T.Literal("shown"), ...placement() }),
				T.Object({ ...huntChangeFields(), kind: T.Literal("archived") }),
				T.Object({ ...huntChangeFields(), kind: T.Literal("unpublished"), reason: T.String() }),
				T.Object({ ...huntChangeFields(), kind: T.Literal("hidden") }),
			]),
			partitionKey: "huntId",
		},
	},
});

function UpdateClueShape() {
	return T.Object(
		{
			id: Uuid(),
			clueId: Uuid(),
			title: T.Optional(clueFields.title),
			position: T.Optional(clueFields.position),
			radiusM: T.Optional(clueFields.radiusM),
			content: T.Optional(clueFields.content),
			challenge: clueFields.challenge,
			hints: clueFields.hints,
			points: T.Optional(clueFields.points),
		},
		{ additionalProperties: false },
	);
}

export type HuntView = Static<typeof Hunt>;
export type PublicHuntView = Static<typeof PublicHunt>;
export type ClueView = Static<typeof Clue>;
export type HuntPlaybook = Static<typeof Playbook>;
export type HuntVisibility = Static<ReturnType<typeof Visibility>>;
export type NewHunt = Static<(typeof huntsContract.actions)["create"]["params"]>;
export type NewClue = Static<(typeof huntsContract.actions)["addClue"]["params"]>;
export type HuntChangeMessage = Static<(typeof huntsContract.channels)[typeof HUNTS_CHANNEL]["payload"]>;
