/**
 * The auth domain: accounts, sessions and the keys that sign access tokens.
 */
import { Described, T, defineContract, type Static } from "./kit";
import { DisplayName, Email, IsoDateTime, LoginEmail, Password, PartnerRoleSchema, PlatformRoleSchema, Uuid } from "./identity";

const Account = T.Object(
	{
		id: Uuid(),
		email: T.String({ format: "email" }),
		displayName: T.String(),
		roles: T.Array(PlatformRoleSchema()),
		partners: T.Record(T.String(), PartnerRoleSchema(), { description: "Partner id → role in that partner" }),
		createdAt: IsoDateTime(),
	},
	{ title: "Account" },
);

const SessionTokens = T.Object({
	accessToken: T.String({ description: "JWT (EdDSA); send as `Authorization: Bearer <token>`" }),
	expiresIn: T.Integer({ description: "Seconds until the access token expires" }),
	refreshToken: T.String({ description: "Opaque; single use: each refresh returns a new one" }),
	tokenType: T.Literal("Bearer"),
});

const AuthResult = T.Composite([T.Object({ user: Account }), SessionTokens], { title: "AuthResult" });

/** The public half of the signing keys (RFC 7517 JWK Set); every verifying node fetches it. */
const PublicKeySet = Described<{ keys: Array<Record<string, unknown> & { kid: string }> }>({
	type: "object",
	title: "JwkSet",
	required: ["keys"],
	properties: {
		keys: {
			type: "array",
			items: { type: "object", required: ["kid", "kty"], properties: { kid: { type: "string" }, kty: { type: "string" }, crv: { type: "string" }, x: { type: "string" }, alg: { type: "string" } } },
		},
	},
});

const Roles = T.Object({ roles: T.Array(PlatformRoleSchema()) });
const RoleChange = T.Object({ id: Uuid(), role: T.Union([T.Literal("admin")]) });
const At = () => IsoDateTime();

/** Durable: a closed account, for every service holding something about the user to erase it. */
export const USER_DELETED_CHANNEL = "users.deleted";
/**
 * Sessions ended (logout, refresh-token reuse, account closure, a role taken away): the auth service
 * marks them in the shared store, where every node's token check looks, even if that store was away
 * when they ended.
 */
export const SESSIONS_REVOKED_CHANNEL = "auth.sessions.revoked";

export const authContract = defineContract({
	service: "auth",
	description: "Accounts, sessions and the keys that sign access tokens",
	actions: {
		register: { params: T.Object({ email: Email(), password: Password(), displayName: DisplayName() }), result: AuthResult },
		login: { params: T.Object({ email: LoginEmail(), password: Password() }), result: AuthResult },
		refresh: { params: T.Object({ refreshToken: T.String({ minLength: 1, maxLength: 200 }) }), result: AuthResult },
		logout: { params: T.Object({}) },
		me: { result: Account },
		publicKeys: { result: PublicKeySet },
		closeAccount: { params: T.Object({ password: Password() }), result: T.Object({ closed: T.Literal(true) }) },
		grantRole: { params: RoleChange, result: Roles },
		revokeRole: { params: RoleChange, result: Roles },
		ensureAdmin: { params: T.Object({ email: Email(), password: T.Optional(Password()) }), result: T.Object({ userId: Uuid(), created: T.Boolean() }) },
	},
	events: {
		"user.registered": {
			description: "A new account exists (its profile too).",
			payload: T.Object({ userId: Uuid(), displayName: T.String(), at: At() }),
		},
		"user.signedIn": {
			description: "A user signed in with their password (a new session).",
			payload: T.Object({ userId: Uuid(), at: At() }),
		},
		"user.signedOut": {
			description: "A user ended a session.",
			payload: T.Object({ userId: Uuid(), at: At() }),
		},
		"user.roles.changed": {
			description: "A platform role was granted or taken away; `roles` is the account's roles now.",
			payload: T.Object({ userId: Uuid(), role: PlatformRoleSchema(), granted: T.Boolean(), roles: T.Array(PlatformRoleSchema()), at: At() }),
		},
	},
	channels: {
		[USER_DELETED_CHANNEL]: {
			description: "An account was closed and its personal data erased by auth; every service drops what it holds about the user.",
			payload: T.Object({ userId: Uuid(), at: At() }),
			partitionKey: "userId",
		},
		[SESSIONS_REVOKED_CHANNEL]: {
			description: "Sessions that ended; their access tokens stop working on every node.",
			payload: T.Object({ sessionIds: T.Array(Uuid()), at: At() }),
		},
	},
});

export type AccountView = Static<typeof Account>;
export type SessionTokens = Static<typeof SessionTokens>;
export type AuthResult = Static<typeof AuthResult>;
export type PublicKeySet = Static<typeof PublicKeySet>;
export type UserDeletedMessage = Static<(typeof authContract.channels)[typeof USER_DELETED_CHANNEL]["payload"]>;
export type SessionsRevokedMessage = Static<(typeof authContract.channels)[typeof SESSIONS_REVOKED_CHANNEL]["payload"]>;
