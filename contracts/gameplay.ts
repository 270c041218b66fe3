/**
 * Play: a player joins a published hunt and walks it; the server alone decides what they found.
 * The shapes are PRODUCT.md's "Hunts and play" (participation, position, answer, hint); field names
 * never change.
 */
import { Defaulted, T, defineContract, withValidation, type Static } from "./kit";
import { IsoDateTime, Uuid } from "./identity";

const Zone = () => T.Object({ lat: T.Number(), lon: T.Number(), radiusM: T.Integer() });
const HintShape = () => T.Object({ text: T.String(), cost: T.Integer() });
const State = () => T.Union([T.Literal("active"), T.Literal("completed"), T.Literal("suspended"), T.Literal("disqualified")]);
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** A real instant: every field in range (no 30 February, no second 60, no offset +99:99), so the server reads what the phone meant. */
function isRealInstant(value: string): boolean {
	const parts = INSTANT.exec(value);
	if (!parts) return false;
	const [year, month, day, hour, minute, second = "0", offsetHours = "0", offsetMinutes = "0"] = parts.slice(1).map(part => part ?? undefined) as string[];
	const daysInMonth = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate();
	return (
		Number(month) >= 1 &&
		Number(month) <= 12 &&
		Number(day) >= 1 &&
		Number(day) <= daysInMonth &&
		Number(hour) <= 23 &&
		Number(minute) <= 59 &&
		Number(second) <= 59 &&
		Number(offsetHours) <= 23 &&
		Number(offsetMinutes) <= 59 &&
		Number.isFinite(Date.parse(value))
	);
}

/** A phone's clock reading with its zone, so it reads the same wherever the phone is. */
const Instant = () =>
	withValidation(T.String({ format: "date-time", pattern: INSTANT.source }), {
		custom: (value, errors) => {
			if (typeof value === "string" && !isRealInstant(value)) errors.push({ type: "instant", actual: value });
			return value;
		},
		messages: { instant: "The '{field}' field must be a real instant: ISO 8601 with a zone, every part in range" },
	});
const FlagCode = () => T.Union([T.Literal("IMPOSSIBLE_SPEED"), T.Literal("FUTURE_TIMESTAMP"), T.Literal("TIME_WENT_BACKWARDS"), T.Literal("REPLAYED_FIX")]);

const DiscoveredClue = T.Object(
	{
		clueId: Uuid(),
		title: T.String(),
		content: T.String(),
		points: T.Integer(),
		discoveredAt: IsoDateTime(),
		challenge: T.Optional(T.Object({ question: T.String(), solved: T.Boolean() })),
		hintsUsed: T.Array(HintShape()),
	},
	{ title: "DiscoveredClue" },
);

const Participation = T.Object(
	{
		id: Uuid(),
		huntId: Uuid(),
		playerId: Uuid(),
		state: State(),
		score: T.Integer(),
		startedAt: IsoDateTime(),
		completedAt: T.Optional(T.String({ format: "date-time", description: "When a finish was reached" })),
		closesAt: T.Optional(T.String({ format: "date-time", description: "When play stops: the earlier of the hunt's end and the player's time limit" })),
		closedBy: T.Optional(
			T.Union([T.Literal("time_limit"), T.Literal("hunt_end")], {
				description: "Set when time ran out before a finish was reached: the participation is then completed without a completedAt",
			}),
		),
		targets: T.Array(T.Object({ clueId: Uuid(), zone: Zone() }), { description: "The clues being looked for: a search zone each, never the place" }),
		discovered: T.Array(DiscoveredClue),
	},
	{ title: "Participation" },
);

const ParticipationId = () => T.Object({ id: Uuid() });

/** Durable: a participation's score or state changed. Leaderboards follow it. */
export const STANDINGS_CHANNEL = "gameplay.standings";
const Standing = T.Object({
	huntId: Uuid(),
	playerId: Uuid(),
	state: State(),
	score: T.Integer(),
	completedAt: T.Union([IsoDateTime(), T.Null()]),
	version: T.Optional(T.Integer({ minimum: 0, description: "The participation's count of committed changes: of two standings, the lower is older" })),
});

/**
 * Durable: what happened in a participation, one message per step (a report discovering two clues
 * sends two `discovered`). Notifications and partner analytics follow it; it is written in the
 * transaction of the change it tells of.
 */
export const PROGRESS_CHANNEL = "gameplay.progress";
export const PROGRESS_KINDS = ["joined", "discovered", "hint_taken", "answered", "flagged", "completed", "closed", "suspended", "reinstated", "disqualified"] as const;
const Progress = T.Object(
	{
		participationId: Uuid(),
		huntId: Uuid(),
		huntTitle: T.Optional(T.String({ description: "Absent when the closing sweep closed the participation" })),
		playerId: Uuid(),
		kind: T.Union(PROGRESS_KINDS.map(kind => T.Literal(kind))),
		at: IsoDateTime(),
		startedAt: T.String({ format: "date-time", description: "When the player joined: minutes to a discovery count from here" }),
		score: T.Integer({ description: "The score after this step" }),
		clueId: T.Optional(T.String({ format: "uuid", description: "discovered, hint_taken, answered" })),
		clueTitle: T.Optional(T.String()),
		correct: T.Optional(T.Boolean({ description: "answered" })),
		flags: T.Optional(T.Array(FlagCode(), { description: "flagged" })),
		closedBy: T.Optional(T.Union([T.Literal("time_limit"), T.Literal("hunt_end")], { description: "closed" })),
	},
	{ title: "ParticipationProgress" },
);

const FlagRecord = T.Object({ code: FlagCode(), evidence: T.Record(T.String(), T.Union([T.Number(), T.String()])), raisedAt: IsoDateTime() });
const ReviewedParticipation = T.Composite([Participation, T.Object({ flags: T.Array(FlagRecord) })], { title: "ReviewedParticipation" });

export const gameplayContract = defineContract({
	service: "gameplay",
	description: "Joining hunts, position reports, answers and hints: the game itself",
	actions: {
		join: {
			params: T.Object({ id: Uuid(), code: T.Optional(withValidation(T.String({ minLength: 1, maxLength: 64 }), { trim: true })) }, { additionalProperties: false }),
			result: Participation,
		},
		get: { params: ParticipationId(), result: Participation },
		report: {
			params: T.Object(
				{
					id: Uuid(),
					lat: T.Number({ minimum: -90, maximum: 90 }),
					lon: T.Number({ minimum: -180, maximum: 180 }),
					accuracy: T.Number({ minimum: 0, maximum: 100_000, description: "Metres: the phone's 68 % radius" }),
					recordedAt: Instant(),
				},
				{ additionalProperties: false },
			),
			result: T.Object({
				outcome: T.Union([T.Literal("discovered"), T.Literal("completed"), T.Literal("nothing"), T.Literal("inaccurate"), T.Literal("flagged")]),
				discovered: T.Optional(T.Array(DiscoveredClue)),
				flags: T.Optional(T.Array(FlagCode())),
				score: T.Integer(),
			}),
		},
		answer: {
			params: T.Object({ id: Uuid(), clueId: Uuid(), answer: withValidation(T.String({ minLength: 1, maxLength: 200 }), { trim: true }) }, { additionalProperties: false }),
			result: T.Object({ correct: T.Boolean(), score: T.Integer(), opened: T.Optional(T.Array(Uuid())) }),
		},
		hint: {
			params: T.Object({ id: Uuid(), clueId: Uuid() }, { additionalProperties: false }),
			result: T.Object({ hint: HintShape(), score: T.Integer() }),
		},
		reviewQueue: {
			params: T.Object({
				state: Defaulted(T.Union([T.Literal("suspended"), T.Literal("disqualified")]), "suspended"),
				limit: Defaulted(withValidation(T.Integer({ minimum: 1, maximum: 200 }), { convert: true }), 50),
			}),
			result: T.Object({ items: T.Array(ReviewedParticipation) }),
		},
		liveState: {
			params: T.Object({ huntId: Uuid() }),
			result: T.Object({
				huntId: Uuid(),
				byState: T.Object({ active: T.Integer(), completed: T.Integer(), suspended: T.Integer(), disqualified: T.Integer() }),
				reportingNow: T.Integer({ description: "Active players who reported in the last five minutes" }),
				lastReportAgeSeconds: T.Union([T.Object({ newest: T.Integer(), median: T.Integer(), oldest: T.Integer() }), T.Null()]),
				clues: T.Array(T.Object({ clueId: Uuid(), title: T.String(), discovered: T.Integer() })),
			}),
		},
		inspect: { params: ParticipationId(), result: ReviewedParticipation },
		standings: {
			params: T.Object({ huntId: Uuid() }),
			result: T.Object({ items: T.Array(T.Composite([T.Object({ participationId: Uuid() }), Standing])) }),
		},
		history: {
			params: T.Object({
				huntId: Uuid(),
				after: T.Optional(T.String({ format: "uuid", description: "The `next` of the previous page" })),
				limit: Defaulted(T.Integer({ minimum: 1, maximum: 1000, description: "Participations per page" }), 200),
			}),
			result: T.Object({
				items: T.Array(Progress, {
					description:
						"The steps the hunt's participations imply, from gameplay's own records, oldest first per participation: joined, discoveries, hints, answers, flags and the state each ended in. Each step carries the participation's score now. A review's moment is not kept: a suspension and a disqualification are told at the last flag, a closing by time when it fell due, and a reinstatement not at all (the participation is simply active).",
				}),
				next: T.Optional(T.String({ format: "uuid", description: "Where the next page starts; absent on the last page" })),
			}),
		},
		standingOf: {
			params: T.Object({ huntId: Uuid(), playerId: Uuid() }),
			result: T.Object({
				standing: T.Union([
					T.Object({
						mine: T.Object({ participationId: Uuid(), playerId: Uuid(), state: State(), score: T.Integer(), completedAt: T.Union([IsoDateTime(), T.Null()]) }),
						finishedAhead: T.Integer({ minimum: 0, description: "Players (not disqualified) who finished before this one" }),
						rankedAhead: T.Integer({ minimum: 0, description: "Players (not disqualified) ranked above this one" }),
					}),
					T.Null(),
				]),
			}),
		},
		review: {
			params: T.Object(
				{ id: Uuid(), decision: T.Union([T.Literal("reinstate"), T.Literal("disqualify")]), note: withValidation(T.String({ minLength: 1, maxLength: 1000 }), { trim: true }) },
				{ additionalProperties: false },
			),
			result: ReviewedParticipation,
		},
	},
	events: {},
	channels: {
		[STANDINGS_CHANNEL]: {
			description: "A participation's score or state changed (a discovery, a hint, a completion, a suspension or a review): what leaderboards rank; a disqualified player leaves them.",
			payload: T.Composite([T.Object({ participationId: Uuid(), at: IsoDateTime() }), Standing]),
			partitionKey: "huntId",
		},
		[PROGRESS_CHANNEL]: {
			description:
				"A step of a participation: joined, a clue discovered, a hint taken, an answer (right or wrong), a fix flagged, completed, closed by time running out, suspended, reinstated or disqualified. What notifications and partner analytics are made from.",
			payload: Progress,
			partitionKey: "participationId",
		},
	},
});

export type ProgressMessage = Static<typeof Progress>;
export type ProgressKind = (typeof PROGRESS_KINDS)[number];

export type ParticipationView = Static<typeof Participation>;
export type DiscoveredClueView = Static<typeof DiscoveredClue>;
export type ReviewedParticipationView = Static<typeof ReviewedParticipation>;
