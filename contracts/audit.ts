/**
 * Audit facts: what services send to the audit log. Each fact carries its own id so a redelivered
 * message is recorded once, and the time it happened (not the time it was recorded).
 */
import { Defaulted, Described, T, defineContract, withValidation, type Static } from "./kit";
import { SEARCH_DEFAULT_LIMIT, SEARCH_MAX_LIMIT } from "../domain/audit/audit-log";

/** The durable channel every producer sends facts to; the audit service is its consumer group. */
export const AUDIT_CHANNEL = "audit.facts";
const AuditActor = T.Object({
	type: T.Union([T.Literal("user"), T.Literal("service"), T.Literal("anonymous"), T.Literal("operator")]),
	/** User id, service name or operator name; absent for anonymous callers. */
	id: T.Optional(T.String()),
	/** Client address as the gateway established it. */
	ip: T.Optional(T.String()),
});
const AuditSubject = T.Object({ type: T.String(), id: T.String() });

export type AuditActor = Static<typeof AuditActor>;
export type AuditSubject = Static<typeof AuditSubject>;

/** Names are `<domain>.<fact>`; listed so producers and the search UI agree on spelling. */
export const AUDIT_ACTIONS = [
	"auth.registered",
	"auth.login.succeeded",
	"auth.login.failed",
	"auth.login.throttled",
	"auth.refresh.reused",
	"auth.logout",
	"auth.role.granted",
	"auth.role.revoked",
	"auth.account.closed",
	"users.deleted",
	"partners.created",
	"partners.member.added",
	"partners.member.removed",
	"partners.member.role_changed",
	"partners.verified",
	"partners.suspended",
	"hunts.published",
	"hunts.archived",
	"hunts.unpublished",
	"gameplay.flagged",
	"gameplay.suspended",
	"gameplay.reviewed",
	"rewards.created",
	"rewards.topped_up",
	"rewards.claimed",
	"rewards.redeemed",
] as const;

export type KnownAuditAction = (typeof AUDIT_ACTIONS)[number];

const factFields = {
	id: T.String({ format: "uuid", description: "The fact's id (each is recorded once)" }),
	at: T.String({ format: "date-time", description: "When it happened" }),
	actor: AuditActor,
	action: T.String({ examples: ["auth.login.failed"], description: "`<domain>.<fact>`, e.g. one of AUDIT_ACTIONS" }),
	subject: T.Optional(AuditSubject),
	data: T.Optional(T.Record(T.String(), T.Unknown(), { description: "Small, non-secret details; never passwords, tokens or full emails" })),
	requestId: T.Optional(T.String()),
};
const AuditFact = T.Object(factFields, { title: "AuditFact" });

const Hash = (description?: string) => T.String({ pattern: "^[0-9a-f]{64}$", ...(description ? { description } : {}) });
const AuditEntry = T.Object(
	{
		seq: T.Integer({ minimum: 1, description: "Position in the chain" }),
		...factFields,
		recordedAt: T.String({ format: "date-time", description: "When the log recorded it" }),
		prevHash: Hash("Hash of the previous entry (64 zeros for the first)"),
		hash: Hash("SHA-256 over prevHash and this entry's canonical content"),
	},
	{ title: "AuditEntry" },
);

/** A fact as producers send it; the audit log ignores a second delivery of the same id. */
export type AuditFact = Omit<Static<typeof AuditFact>, "action"> & { action: KnownAuditAction | (string & {}) };
/** One entry of the chain as stored and returned to admins. */
export type AuditEntry = AuditFact & Omit<Static<typeof AuditEntry>, keyof AuditFact>;

/** A date, or a date and time with a zone (a time without one would be read in the server's zone). */
const ISO_TIME = "^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2}))?$";
const Time = () => T.Optional(T.String({ pattern: ISO_TIME }));
const Seq = (minimum: number) => withValidation(T.Integer({ minimum, maximum: Number.MAX_SAFE_INTEGER }), { convert: true });
export const TAIL_MAX_LIMIT = 500;

const AuditSearchParams = T.Object({
	actor: T.Optional(T.String({ minLength: 1, maxLength: 200 })),
	action: T.Optional(T.String({ minLength: 1, maxLength: 100 })),
	subject: T.Optional(T.String({ minLength: 1, maxLength: 200 })),
	from: Time(),
	to: Time(),
	/** Return entries with seq below this (keyset paging, newest first). */
	before: T.Optional(Seq(1)),
	limit: Defaulted(withValidation(T.Integer({ minimum: 1, maximum: SEARCH_MAX_LIMIT }), { convert: true }), SEARCH_DEFAULT_LIMIT),
});
export type AuditSearchParams = Static<typeof AuditSearchParams>;

const AuditSearchResult = T.Object({
	entries: T.Array(AuditEntry),
	nextBefore: T.Optional(T.Integer({ description: "Pass as `before` for the next (older) page; absent on the last page" })),
});
export interface AuditSearchResult {
	entries: AuditEntry[];
	nextBefore?: number;
}

export type AuditVerifyResult =
	| { ok: true; checked: number; head: { seq: number; hash: string } | null }
	| { ok: false; checked: number; firstBroken: { seq: number; reason: "hash_mismatch" | "prev_mismatch" | "gap" | "anchor_mismatch" }; lastGood: number };

const AuditVerifyResult = Described<AuditVerifyResult>({
	oneOf: [
		{
			type: "object",
			required: ["ok", "checked", "head"],
			properties: {
				ok: { type: "boolean", const: true },
				checked: { type: "integer" },
				head: { oneOf: [{ type: "null" }, { type: "object", required: ["seq", "hash"], properties: { seq: { type: "integer" }, hash: { type: "string" } } }] },
			},
		},
		{
			type: "object",
			required: ["ok", "checked", "firstBroken", "lastGood"],
			properties: {
				ok: { type: "boolean", const: false },
				checked: { type: "integer" },
				firstBroken: {
					type: "object",
					required: ["seq", "reason"],
					properties: { seq: { type: "integer" }, reason: { type: "string", enum: ["hash_mismatch", "prev_mismatch", "gap", "anchor_mismatch"] } },
				},
				lastGood: { type: "integer", description: "The last seq up to which the chain is intact" },
			},
		},
	],
});

export const auditContract = defineContract({
	service: "audit",
	description: "The hash-chained, append-only audit log",
	actions: {
		search: { params: AuditSearchParams, result: Described<AuditSearchResult>(AuditSearchResult) },
		verify: { params: T.Object({ anchorSeq: T.Optional(Seq(1)), anchorHash: T.Optional(Hash()) }), result: AuditVerifyResult },
		tail: {
			params: T.Object({ afterSeq: Defaulted(Seq(0), 0), limit: Defaulted(withValidation(T.Integer({ minimum: 1, maximum: TAIL_MAX_LIMIT }), { convert: true }), 100) }),
			result: Described<{ entries: AuditEntry[] }>(T.Object({ entries: T.Array(AuditEntry) })),
		},
	},
	events: {},
	channels: {
		[AUDIT_CHANNEL]: {
			description: "Audit-worthy facts (logins, failed logins, role and membership changes, partner verification, account deletion, …), appended to the audit log once each.",
			payload: AuditFact,
			publishers: ["auth", "users", "partners", "hunts", "gameplay", "rewards"],
		},
	},
});

/**
 * A head recorded outside the database (the audit service logs one every few minutes). A chain that
 * verifies but no longer has this hash at this seq was rewritten wholesale by someone who could
 * recompute every hash: verify reports `anchor_mismatch` at that seq.
 */
export interface AuditAnchor {
	anchorSeq: number;
	anchorHash: string;
}
