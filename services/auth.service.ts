/**
 * Accounts, sessions and the keys that sign access tokens. The flows live in domain/auth/auth-flows.ts;
 * this file maps them to actions and REST routes and wires their ports to the rest of the platform:
 * profiles (users service), memberships (partners service), the audit channel and the shared store
 * where logged-out sessions are remembered for every node's token checks.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { AppConfig } from "../platform/config/env";
import {
	SESSIONS_REVOKED_CHANNEL,
	USER_RENAMED_CHANNEL,
	type SessionsRevokedMessage,
	type AccountView,
	type AuthResult,
	type LoginParams,
	type PartnerRole,
	type PlatformRole,
	type PublicKeySet,
	type RefreshParams,
	type RegisterParams,
	type UserRenamedMessage,
} from "../contracts/identity";
import type { ServiceSchemaWithChannels } from "../platform/channels";
import { ACCOUNT_SCHEMA, AUTH_RESULT_SCHEMA, JWKS_SCHEMA } from "../contracts/identity-schemas";
import { AccountStore, AUTH_MIGRATIONS } from "../domain/auth/account-store";
import { AuthFlows, type AuthPorts } from "../domain/auth/auth-flows";
import { LoginThrottle, RegistrationLimit } from "../domain/auth/login-throttle";
import { DISPLAY_NAME_PARAM, EMAIL_PARAM, LOGIN_EMAIL_PARAM, PASSWORD_PARAM } from "../contracts/identity-params";
import { publicKeysOf, type KeyRing } from "../platform/identity/tokens";
import { actorOf, requestContext } from "../platform/moleculer/audit";
import { callerOf, provideLocalPublicKeys, sessionRevocations, userOf } from "../platform/moleculer/authorization";
import { defineService } from "../platform/moleculer/define-service";
import { callAsService } from "../platform/moleculer/service-identity";
import { created, noContent } from "../platform/moleculer/responses";
import type { JsonSchema } from "../platform/http/openapi";
import { nodeBackends } from "../platform/runtime/node-backends";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import { DatabaseMixin, type DatabaseServiceThis } from "../mixins/database.mixin";
import { every, type PeriodicTask } from "../platform/runtime/periodic";

interface AuthServiceThis extends DatabaseServiceThis {
	broker: ServiceBroker;
	[member: string]: unknown;
	logger: { info(...args: unknown[]): void; warn(...args: unknown[]): void; error(...args: unknown[]): void };
	accounts: AccountStore;
	keyRing: KeyRing;
	throttle: LoginThrottle;
	registrations: RegistrationLimit;
	/** Without a context for work no request started (start-up, timers). */
	flows(ctx?: Context): AuthFlows;
	changeRole(ctx: Context<{ id: string; role: PlatformRole }>, granted: boolean): Promise<{ roles: PlatformRole[] }>;
	markRevoked(sessionIds: string[]): Promise<void>;
	purgeSessions?: PeriodicTask;
}

type ServiceBroker = Context["broker"];

const SESSION_RETENTION_DAYS = 30;
const ROLE_CHANGE_PARAMS = { id: "uuid", role: { type: "enum", values: ["admin"] } } as const;
const ROLES_RESPONSE: JsonSchema = { type: "object", required: ["roles"], properties: { roles: { type: "array", items: { type: "string", enum: ["player", "admin"] } } } };

export function createAuthService(config: AppConfig): ServiceSchema {
	const tokenSettings = { issuer: config.auth.issuer, audience: config.auth.audience, accessTtlSeconds: config.auth.accessTtlSeconds };

	const schema: ServiceSchemaWithChannels = defineService({
		name: "auth",
		mixins: [DatabaseMixin(AUTH_MIGRATIONS), AccessControlMixin()],
		settings: { rest: "/" },

		actions: {
			register: {
				rest: "POST /auth/register",
				secrets: ["password"],
				access: "public",
				params: { $$strict: "remove", email: EMAIL_PARAM, password: PASSWORD_PARAM, displayName: DISPLAY_NAME_PARAM },
				openapi: {
					summary: "Create an account and sign in",
					tags: ["auth"],
					successStatus: 201,
					response: AUTH_RESULT_SCHEMA,
					responses: {
						"409": { description: "EMAIL_TAKEN" },
						"422": { description: "VALIDATION_FAILED or WEAK_PASSWORD (details.problems)" },
						"429": { description: "RATE_LIMITED: too many registrations from this address (REGISTRATIONS_PER_HOUR); see Retry-After" },
					},
				},
				async handler(this: AuthServiceThis, ctx: Context<RegisterParams>): Promise<AuthResult> {
					const result = await this.flows(ctx).register(ctx.params, requestContext(ctx));
					return created(ctx, `/api/users/${result.user.id}`, result);
				},
			},

			login: {
				rest: "POST /auth/login",
				secrets: ["password"],
				access: "public",
				params: { $$strict: "remove", email: LOGIN_EMAIL_PARAM, password: PASSWORD_PARAM },
				openapi: {
					summary: "Sign in with email and password",
					tags: ["auth"],
					response: AUTH_RESULT_SCHEMA,
					responses: { "401": { description: "INVALID_CREDENTIALS (the same for an unknown email)" }, "429": { description: "LOGIN_THROTTLED; see Retry-After" } },
				},
				handler(this: AuthServiceThis, ctx: Context<LoginParams>): Promise<AuthResult> {
					return this.flows(ctx).login(ctx.params, requestContext(ctx));
				},
			},

			refresh: {
				rest: "POST /auth/refresh",
				secrets: ["refreshToken"],
				access: "public",
				params: { $$strict: "remove", refreshToken: { type: "string", min: 1, max: 200 } },
				openapi: {
					summary: "Exchange a refresh token for a new token pair",
					description: "Each refresh token works once. Presenting one that was already used revokes the whole session.",
					tags: ["auth"],
					response: AUTH_RESULT_SCHEMA,
					responses: { "401": { description: "INVALID_REFRESH_TOKEN" }, "429": { description: "REFRESH_THROTTLED: too many refresh tokens that did not work from this address; see Retry-After" } },
				},
				handler(this: AuthServiceThis, ctx: Context<RefreshParams>): Promise<AuthResult> {
					return this.flows(ctx).refresh(ctx.params.refreshToken, requestContext(ctx));
				},
			},

			logout: {
				rest: "POST /auth/logout",
				access: "user",
				params: { $$strict: "remove" },
				openapi: { summary: "End this session", description: "Its refresh token and access tokens stop working.", tags: ["auth"], successStatus: 204 },
				async handler(this: AuthServiceThis, ctx: Context): Promise<void> {
					const user = userOf(ctx);
					await this.flows(ctx).logout(user.userId, user.sessionId, requestContext(ctx));
					noContent(ctx);
				},
			},

			me: {
				rest: "GET /auth/me",
				access: "user",
				openapi: { summary: "The signed-in account: email, roles and partner memberships", tags: ["auth"], response: ACCOUNT_SCHEMA },
				handler(this: AuthServiceThis, ctx: Context): Promise<AccountView> {
					return this.flows(ctx).me(userOf(ctx).userId);
				},
			},

			publicKeys: {
				rest: "GET /auth/jwks",
				access: "public",
				openapi: { summary: "Public keys that verify access tokens (JWK Set)", tags: ["auth"], response: JWKS_SCHEMA },
				handler(this: AuthServiceThis): PublicKeySet {
					return { keys: publicKeysOf(this.keyRing) as PublicKeySet["keys"] };
				},
			},

			closeAccount: {
				// Called by the users service when a user deletes their account, with the user's own token.
				access: "user",
				params: { password: PASSWORD_PARAM },
				async handler(this: AuthServiceThis, ctx: Context<{ password: string }>): Promise<{ closed: true }> {
					await this.flows(ctx).closeAccount(userOf(ctx).userId, ctx.params.password, requestContext(ctx));
					return { closed: true };
				},
			},

			grantRole: {
				rest: "POST /admin/users/:id/roles",
				access: "admin",
				params: ROLE_CHANGE_PARAMS,
				openapi: { summary: "Give an account a platform role", tags: ["admin"], response: ROLES_RESPONSE },
				handler(this: AuthServiceThis, ctx: Context<{ id: string; role: PlatformRole }>) {
					return this.changeRole(ctx, true);
				},
			},

			revokeRole: {
				rest: "DELETE /admin/users/:id/roles/:role",
				access: "admin",
				params: ROLE_CHANGE_PARAMS,
				openapi: { summary: "Take a platform role away from an account", tags: ["admin"], response: ROLES_RESPONSE },
				handler(this: AuthServiceThis, ctx: Context<{ id: string; role: PlatformRole }>) {
					return this.changeRole(ctx, false);
				},
			},

			ensureAdmin: {
				// The REPL's `admin-grant`: operators (and admins) only, never a public route.
				access: "admin",
				params: { email: EMAIL_PARAM, password: { ...PASSWORD_PARAM, optional: true } },
				handler(this: AuthServiceThis, ctx: Context<{ email: string; password?: string }>) {
					return this.flows(ctx).ensureAdmin(ctx.params.email, ctx.params.password, actorOf(callerOf(ctx)));
				},
			},
		},

		methods: {
			flows(this: AuthServiceThis, ctx?: Context): AuthFlows {
				const ports: AuthPorts = {
					createProfile: async (userId, displayName) => {
						await callAsService(this.broker, "auth", "users.createProfile", { userId, displayName }, ctx);
					},
					membershipsOf: userId => callAsService<Record<string, PartnerRole>>(this.broker, "auth", "partners.membershipsOf", { userId }, ctx),
					sessionsRevoked: async sessionIds => {
						try {
							await this.markRevoked(sessionIds);
						} catch (err) {
							// Committed, with a SESSIONS_REVOKED_CHANNEL message that marks them once the store
							// answers again. The change did happen: no 5xx.
							this.logger.warn(`Revoked sessions ${sessionIds.join(", ")}; the shared store will hear of it through the channel (${(err as Error).message})`);
						}
					},
				};
				return new AuthFlows(this.accounts, this.outbox, this.throttle, () => this.keyRing, { token: tokenSettings, refreshTtlSeconds: config.auth.refreshTtlSeconds }, ports, this.registrations);
			},

			async changeRole(this: AuthServiceThis, ctx: Context<{ id: string; role: PlatformRole }>, granted: boolean): Promise<{ roles: PlatformRole[] }> {
				const origin = requestContext(ctx);
				return { roles: await this.flows(ctx).setRole(ctx.params.id, ctx.params.role, granted, actorOf(callerOf(ctx), origin.clientIp), origin) };
			},

			/** Where every node's token check looks (platform/identity/session-revocation.ts). */
			markRevoked(this: AuthServiceThis, sessionIds: string[]): Promise<void> {
				return sessionRevocations(this.broker).mark(sessionIds);
			},
		},

		async started(this: AuthServiceThis & DatabaseServiceThis) {
			this.accounts = new AccountStore(this.db, "auth");
			this.throttle = new LoginThrottle(nodeBackends(this.broker).keyValueStore());
			this.registrations = new RegistrationLimit(nodeBackends(this.broker).keyValueStore(), config.auth.registrationsPerHour);
			this.keyRing = await nodeBackends(this.broker).signingRing();
			// Ended sessions are kept a while for investigations (reuse is detected from them), then dropped.
			this.purgeSessions = every(
				6 * 3600_000,
				() => this.accounts.purgeSessions(SESSION_RETENTION_DAYS),
				err => this.logger.warn(`Session purge failed: ${err.message}`),
			);
			provideLocalPublicKeys(this.broker, () => ({ keys: publicKeysOf(this.keyRing) as PublicKeySet["keys"] }));
			this.logger.info(`Signing access tokens with key ${this.keyRing.current.kid}${config.auth.keysFile ? "" : " (development key under DATA_DIR)"}`);
		},

		stopped(this: AuthServiceThis) {
			this.purgeSessions?.stop();
		},

		events: {
			// The configured admin is created once every local service runs: it needs the users service
			// for the profile.
			async "$broker.started"(this: AuthServiceThis) {
				const admin = config.auth.admin;
				if (!admin) return;
				try {
					await this.broker.waitForServices(["users", "partners"], 60_000);
					const result = await this.flows().ensureAdmin(admin.email, admin.password, { type: "operator", id: "ADMIN_EMAIL" });
					this.logger.info(`Admin ${result.created ? "created" : "confirmed"} from ADMIN_EMAIL (account ${result.userId})`);
				} catch (err) {
					this.logger.error(`Could not create the admin from ADMIN_EMAIL: ${(err as Error).message}`);
				}
			},
		},
	});

	schema.channels = {
		[SESSIONS_REVOKED_CHANNEL]: {
			group: "auth",
			// Setting the marks again is harmless: no inbox needed. A store that is away fails the
			// handler, and the message is retried (then dead-lettered, never dropped).
			handler(this: unknown, ctx: Context<SessionsRevokedMessage>) {
				return (this as AuthServiceThis).markRevoked(ctx.params.sessionIds);
			},
		},
		[USER_RENAMED_CHANNEL]: {
			group: "auth",
			async handler(this: unknown, ctx: Context<UserRenamedMessage>) {
				const self = this as AuthServiceThis;
				await self.consumeOnce(ctx, (_messages, db) => self.accounts.joined(db).updateDisplayName(ctx.params.userId, ctx.params.displayName, ctx.params.at));
			},
		},
	};
	return schema;
}
