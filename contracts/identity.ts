/**
 * Who a caller is and the identity fields more than one domain accepts, so a display name or a
 * password is held to the same limits wherever it comes in. The auth, users and partners contracts
 * build on these.
 */
import { T, withValidation } from "./kit";
import { PASSWORD_MAX_LENGTH } from "../domain/auth/passwords";

export type PlatformRole = "player" | "admin";
export type PartnerRole = "owner" | "editor";
export const PARTNER_ROLES: readonly PartnerRole[] = ["owner", "editor"];

/** Who is making a call, as established from a verified access token (never from plain meta). */
export type Caller =
	| { kind: "anonymous" }
	| { kind: "user"; userId: string; roles: PlatformRole[]; partners: Record<string, PartnerRole>; sessionId: string }
	/** Another service acting on its own behalf (a token signed with the node's ring). */
	| { kind: "service"; service: string }
	/** A person at the REPL holding the signing keys: trusted with everything, and audited by name. */
	| { kind: "operator"; operator: string };

/**
 * Access to a resource a partner owns: the caller must be a member of that partner in at least the
 * role named (member: owner or editor; editor: owner or editor; owner: owner only). Admins and
 * operators pass. The partner comes from the param named by `param` (its id), or from the service's
 * `resolve` hook for resources that belong to a partner (e.g. a hunt's partnerId).
 */
export interface PartnerAccess {
	partner: "member" | "editor" | "owner";
	param?: string;
}

/** What an action requires of its caller; every action of a guarded service declares one. */
export type Access = "public" | "user" | "admin" | "service" | PartnerAccess;

export const EMAIL_MAX_LENGTH = 254;
export const DISPLAY_NAME_MAX_LENGTH = 50;

/**
 * Text a person reads: no control characters, no invisible formatting (bidi overrides that make
 * "evil.com" display as "moc.live", zero-width spaces), no line separators. The zero-width joiner
 * stays: emoji sequences need it.
 */
export const PRINTABLE_TEXT = /^(?:[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\u200D)*$/u;
const NOT_PRINTABLE = "The '{field}' field may not contain control, invisible formatting or direction-override characters";

/** A UUID as text (any version): ids in paths and params are checked against it before they reach SQL. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const Uuid = () => T.String({ format: "uuid" });
export const IsoDateTime = () => T.String({ format: "date-time" });
export const PlatformRoleSchema = () => T.Union([T.Literal("player"), T.Literal("admin")]);
export const PartnerRoleSchema = () => T.Union([T.Literal("owner"), T.Literal("editor")]);

/** A new address: must look like one. Logins take any string up to the length, so a typo is a 401, not a 422. */
export const Email = () =>
	withValidation(T.String({ format: "email", maxLength: EMAIL_MAX_LENGTH }), {
		normalize: false,
		// fastest-validator's email pattern lets any non-space character through.
		custom: (value, errors) => {
			if (typeof value === "string" && !PRINTABLE_TEXT.test(value)) errors.push({ type: "printable", actual: value });
			return value;
		},
		messages: { printable: NOT_PRINTABLE },
	});
export const LoginEmail = () => T.String({ minLength: 1, maxLength: EMAIL_MAX_LENGTH });
/** The strength policy is checked where a password is set; this only bounds what gets hashed. */
export const Password = () => T.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH });
export const DisplayName = () =>
	withValidation(T.String({ minLength: 1, maxLength: DISPLAY_NAME_MAX_LENGTH, pattern: PRINTABLE_TEXT.source }), { trim: true, messages: { stringPattern: NOT_PRINTABLE } });
