/**
 * The identity contract every service shares: who a caller is, what the auth, users and partners
 * actions take and return, and the events they publish. Callers import these types instead of
 * restating shapes, so a change here is a compile error wherever it matters.
 */

export type PlatformRole = "player" | "admin";
export type PartnerRole = "owner" | "editor";
export const PARTNER_ROLES: readonly PartnerRole[] = ["owner", "editor"];

/** Who is making a call, as established from a verified access token (never from plain meta). */
export type Caller =
	| { kind: "anonymous" }
	| { kind: "user"; userId: string; roles: PlatformRole[]; partners: Record<string, PartnerRole>; sessionId: string }
	/** Another service acting on its own behalf (a token only the auth service can mint). */
	| { kind: "service"; service: string }
	/** A person at the REPL holding the signing keys: trusted with everything, and audited by name. */
	| { kind: "operator"; operator: string };

/** What an action requires of its caller; every action of a guarded service declares one. */
export type Access = "public" | "user" | "admin" | "service";

// --- auth ------------------------------------------------------------------------------------------

export interface AccountView {
	id: string;
	email: string;
	displayName: string;
	roles: PlatformRole[];
	partners: Record<string, PartnerRole>;
	createdAt: string;
}

export interface RegisterParams {
	email: string;
	password: string;
	displayName: string;
}

export interface LoginParams {
	email: string;
	password: string;
}

export interface RefreshParams {
	refreshToken: string;
}

export interface SessionTokens {
	accessToken: string;
	/** Seconds until the access token expires. */
	expiresIn: number;
	refreshToken: string;
	tokenType: "Bearer";
}

export interface AuthResult extends SessionTokens {
	user: AccountView;
}

/** The public half of the signing keys (RFC 7517 JWK Set); every verifying node fetches it. */
export interface PublicKeySet {
	keys: Array<Record<string, unknown> & { kid: string }>;
}

// --- users -----------------------------------------------------------------------------------------

export interface Profile {
	id: string;
	displayName: string;
	avatarUrl: string | null;
	locale: string;
	createdAt: string;
	updatedAt: string;
}

export type PublicProfile = Pick<Profile, "id" | "displayName" | "avatarUrl">;

export interface CreateProfileParams {
	userId: string;
	displayName: string;
	locale?: string;
}

export interface UpdateProfileParams {
	displayName?: string;
	avatarUrl?: string | null;
	locale?: string;
}

// --- partners --------------------------------------------------------------------------------------

export type PartnerStatus = "pending" | "verified" | "suspended";

export interface PartnerMember {
	userId: string;
	role: PartnerRole;
	addedAt: string;
}

/** What anyone may see of a verified partner. */
export interface PartnerPublicView {
	id: string;
	name: string;
	website: string | null;
	status: PartnerStatus;
}

/** What the partner's own members (and admins) see. */
export interface PartnerView extends PartnerPublicView {
	description: string | null;
	contactEmail: string | null;
	createdAt: string;
	statusReason: string | null;
	members: PartnerMember[];
}

export interface MembershipsOfParams {
	userId: string;
}

// --- events ----------------------------------------------------------------------------------------

/** Broker events (fire-and-forget notifications between services). */
export interface IdentityEvents {
	"user.registered": { userId: string; displayName: string; at: string };
	/** Personal data is gone by the time this is sent; listeners drop what they hold about the user. */
	"user.deleted": { userId: string; at: string };
	"partner.verified": { partnerId: string; at: string };
	"partner.suspended": { partnerId: string; reason: string | null; at: string };
	"partner.membership.changed": { partnerId: string; userId: string; role: PartnerRole | null; at: string };
}

/** Durable channel names (at-least-once, survive a node restart). */
export const USER_DELETED_CHANNEL = "users.deleted";
/** A user changed their display name; the auth service keeps a copy for the account view. */
export const USER_RENAMED_CHANNEL = "users.renamed";

/**
 * Sessions ended (logout, refresh-token reuse, account closure, a role taken away): the auth service
 * marks them in the shared store, where every node's token check looks, even if that store was
 * away when they ended.
 */
export const SESSIONS_REVOKED_CHANNEL = "auth.sessions.revoked";

export interface SessionsRevokedMessage {
	sessionIds: string[];
	at: string;
}

export interface UserDeletedMessage {
	userId: string;
	at: string;
}

export interface UserRenamedMessage {
	userId: string;
	displayName: string;
	at: string;
}
