/**
 * Audit facts: what services send to the audit log. Each fact carries its own id so a redelivered
 * message is recorded once, and the time it happened (not the time it was recorded).
 */

/** The durable channel every producer sends facts to; the audit service is its consumer group. */
export const AUDIT_CHANNEL = "audit.facts";

export interface AuditActor {
	type: "user" | "service" | "anonymous" | "operator";
	/** User id, service name or operator name; absent for anonymous callers. */
	id?: string;
	/** Client address as the gateway established it. */
	ip?: string;
}

export interface AuditSubject {
	type: string;
	id: string;
}

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
] as const;

export type KnownAuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditFact {
	/** Unique per fact (UUID); the audit log ignores a second delivery of the same id. */
	id: string;
	/** ISO-8601 time the fact happened. */
	at: string;
	actor: AuditActor;
	/** KnownAuditAction, or a later domain's own `<domain>.<fact>` name. */
	action: KnownAuditAction | (string & {});
	subject?: AuditSubject;
	/** Small, non-secret details; never passwords, tokens or full emails. */
	data?: Record<string, unknown>;
	requestId?: string;
}

/** One entry of the chain as stored and returned to admins. */
export interface AuditEntry extends AuditFact {
	/** Position in the chain, from 1. */
	seq: number;
	recordedAt: string;
	/** Hash of the previous entry (64 zeros for the first). */
	prevHash: string;
	/** SHA-256 over prevHash and this entry's canonical content. */
	hash: string;
}

export interface AuditSearchParams {
	actor?: string;
	action?: string;
	subject?: string;
	from?: string;
	to?: string;
	/** Return entries with seq below this (keyset paging, newest first). */
	before?: number;
	limit?: number;
}

export interface AuditSearchResult {
	entries: AuditEntry[];
	/** Pass as `before` for the next page; absent on the last page. */
	nextBefore?: number;
}

export type AuditVerifyResult =
	| { ok: true; checked: number; head: { seq: number; hash: string } | null }
	| { ok: false; checked: number; firstBroken: { seq: number; reason: "hash_mismatch" | "prev_mismatch" | "gap" | "anchor_mismatch" }; lastGood: number };

/**
 * A head recorded outside the database (the audit service logs one every few minutes). A chain that
 * verifies but no longer has this hash at this seq was rewritten wholesale by someone who could
 * recompute every hash: verify reports `anchor_mismatch` at that seq.
 */
export interface AuditAnchor {
	anchorSeq: number;
	anchorHash: string;
}
