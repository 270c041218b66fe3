/**
 * Accounts, sessions and the keys that sign access tokens. The flows live in domain/auth/auth-flows.ts;
 * this file maps them to actions and REST routes and wires their ports to the rest of the platform:
 * profiles (users service), memberships (partners service), the audit channel and the shared store
 * where logged-out sessions are remembered for every node's token checks.
 */
import type { Context, Logger, ServiceBroker } from "moleculer";
import { authContract, SESSIONS_REVOKED_CHANNEL, type PublicKeySet } from "../contracts/auth";
import { USER_RENAMED_CHANNEL } from "../contracts/users";
import type { PlatformRole } from "../contracts/identity";
import { AccountStore, AUTH_MIGRATIONS } from "../domain/auth/account-store";
import { AuthFlows, type AuthPorts } from "../domain/auth/auth-flows";
import { LoginThrottle, RegistrationLimit } from "../domain/auth/login-throttle";
import { publicKeysOf, type KeyRing } from "../platform/identity/tokens";
import { actorOf, requestContext } from "../platform/moleculer/audit";
import { callerOf, provideLocalPublicKeys, sessionRevocations, userOf } from "../platform/moleculer/authorization";
import { defineService } from "../platform/moleculer/define-service";
import { emit } from "../platform/moleculer/contract-calls";
import { callAsService } from "../platform/moleculer/service-identity";
import { created, noContent } from "../platform/moleculer/responses";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import { ServiceDatabase } from "../mixins/database.mixin";
import { every, type PeriodicTask } from "../platform/runtime/periodic";
import type { ServiceDeps } from "./deps";

const SESSION_RETENTION_DAYS = 30;

export function createAuthService({ config, backends }: ServiceDeps) {
	const tokenSettings = { issuer: config.auth.issuer, audience: config.auth.audience, accessTtlSeconds: config.auth.accessTtlSeconds };
	const database = new ServiceDatabase(backends, "auth", AUTH_MIGRATIONS);
	let broker!: ServiceBroker;
	let logger!: Logger;
	let accounts!: AccountStore;
	let keyRing!: KeyRing;
	let throttle!: LoginThrottle;
	let registrations!: RegistrationLimit;
	let purgeSessions: PeriodicTask | undefined;

	/** Where every node's token check looks (platform/identity/session-revocation.ts). */
	const markRevoked = (sessionIds: string[]) => sessionRevocations(broker).mark(sessionIds);
	const publicKeys = (): PublicKeySet => ({ keys: publicKeysOf(keyRing) as PublicKeySet["keys"] });

	/** The flows, with their ports calling other services inside `ctx`'s request; without one for start-up work. */
	const flows = (ctx?: Context): AuthFlows => {
		const ports: AuthPorts = {
			createProfile: async (userId, displayName) => {
				await callAsService(broker, "auth", "users.createProfile", { userId, displayName }, ctx);
			},
			membershipsOf: userId => callAsService(broker, "auth", "partners.membershipsOf", { userId }, ctx),
			sessionsRevoked: async sessionIds => {
				try {
					await markRevoked(sessionIds);
				} catch (err) {
					// Committed, with a SESSIONS_REVOKED_CHANNEL message that marks them once the store
					// answers again. The change did happen: no 5xx.
					logger.warn(`Revoked sessions ${sessionIds.join(", ")}; the shared store will hear of it through the channel (${(err as Error).message})`);
				}
			},
		};
		return new AuthFlows(accounts, database.outbox, throttle, () => keyRing, { token: tokenSettings, refreshTtlSeconds: config.auth.refreshTtlSeconds }, ports, registrations);
	};

	const changeRole = async (ctx: Context<{ id: string; role: PlatformRole }>, granted: boolean) => {
		const origin = requestContext(ctx);
		const { id: userId, role } = ctx.params;
		const roles = await flows(ctx).setRole(userId, role, granted, actorOf(callerOf(ctx), origin.clientIp), origin);
		void emit(ctx, "user.roles.changed", { userId, role, granted, roles, at: new Date().toISOString() });
		return { roles };
	};

	return defineService(authContract, {
		mixins: [database.mixin(), AccessControlMixin()],
		settings: { rest: "/" },

		actions: {
			register: {
				rest: "POST /auth/register",
				secrets: ["password"],
				access: "public",
				openapi: {
					summary: "Create an account and sign in",
					tags: ["auth"],
					successStatus: 201,
					responses: {
						"409": { description: "EMAIL_TAKEN" },
						"422": { description: "VALIDATION_FAILED or WEAK_PASSWORD (details.problems)" },
						"429": { description: "RATE_LIMITED: too many registrations from this address (REGISTRATIONS_PER_HOUR); see Retry-After" },
					},
				},
				async handler(ctx) {
					const result = await flows(ctx).register(ctx.params, requestContext(ctx));
					void emit(ctx, "user.registered", { userId: result.user.id, displayName: result.user.displayName, at: result.user.createdAt });
					return created(ctx, `/api/users/${result.user.id}`, result);
				},
			},

			login: {
				rest: "POST /auth/login",
				secrets: ["password"],
				access: "public",
				openapi: {
					summary: "Sign in with email and password",
					tags: ["auth"],
					responses: { "401": { description: "INVALID_CREDENTIALS (the same for an unknown email)" }, "429": { description: "LOGIN_THROTTLED; see Retry-After" } },
				},
				async handler(ctx) {
					const result = await flows(ctx).login(ctx.params, requestContext(ctx));
					void emit(ctx, "user.signedIn", { userId: result.user.id, at: new Date().toISOString() });
					return result;
				},
			},

			refresh: {
				rest: "POST /auth/refresh",
				secrets: ["refreshToken"],
				access: "public",
				openapi: {
					summary: "Exchange a refresh token for a new token pair",
					description: "Each refresh token works once. Presenting one that was already used revokes the whole session.",
					tags: ["auth"],
					responses: { "401": { description: "INVALID_REFRESH_TOKEN" }, "429": { description: "REFRESH_THROTTLED: too many refresh tokens that did not work from this address; see Retry-After" } },
				},
				handler(ctx) {
					return flows(ctx).refresh(ctx.params.refreshToken, requestContext(ctx));
				},
			},

			logout: {
				rest: "POST /auth/logout",
				access: "user",
				openapi: { summary: "End this session", description: "Its refresh token and access tokens stop working.", tags: ["auth"], successStatus: 204 },
				async handler(ctx) {
					const user = userOf(ctx);
					await flows(ctx).logout(user.userId, user.sessionId, requestContext(ctx));
					void emit(ctx, "user.signedOut", { userId: user.userId, at: new Date().toISOString() });
					noContent(ctx);
				},
			},

			me: {
				rest: "GET /auth/me",
				access: "user",
				openapi: { summary: "The signed-in account: email, roles and partner memberships", tags: ["auth"] },
				handler(ctx) {
					return flows(ctx).me(userOf(ctx).userId);
				},
			},

			publicKeys: {
				rest: "GET /auth/jwks",
				access: "public",
				openapi: { summary: "Public keys that verify access tokens (JWK Set)", tags: ["auth"] },
				handler() {
					return publicKeys();
				},
			},

			closeAccount: {
				// Called by the users service when a user deletes their account, with the user's own token.
				access: "user",
				async handler(ctx) {
					await flows(ctx).closeAccount(userOf(ctx).userId, ctx.params.password, requestContext(ctx));
					return { closed: true as const };
				},
			},

			grantRole: {
				rest: "POST /admin/users/:id/roles",
				access: "admin",
				openapi: { summary: "Give an account a platform role", tags: ["admin"] },
				handler(ctx) {
					return changeRole(ctx, true);
				},
			},

			revokeRole: {
				rest: "DELETE /admin/users/:id/roles/:role",
				access: "admin",
				openapi: { summary: "Take a platform role away from an account", tags: ["admin"] },
				handler(ctx) {
					return changeRole(ctx, false);
				},
			},

			ensureAdmin: {
				// The REPL's `admin-grant`: operators (and admins) only, never a public route.
				access: "admin",
				handler(ctx) {
					return flows(ctx).ensureAdmin(ctx.params.email, ctx.params.password, actorOf(callerOf(ctx)));
				},
			},
		},

		channels: {
			[SESSIONS_REVOKED_CHANNEL]: {
				group: "auth",
				// Setting the marks again is harmless: no inbox needed. A store that is away fails the
				// handler, and the message is retried (then dead-lettered, never dropped).
				handler(ctx) {
					return markRevoked(ctx.params.sessionIds);
				},
			},
			[USER_RENAMED_CHANNEL]: {
				group: "auth",
				async handler(ctx) {
					await database.consumeOnce(ctx, (_messages, db) => accounts.joined(db).updateDisplayName(ctx.params.userId, ctx.params.displayName, ctx.params.at));
				},
			},
		},

		async started() {
			broker = this.broker;
			logger = this.logger;
			accounts = new AccountStore(database.db, "auth");
			throttle = new LoginThrottle(backends.keyValueStore());
			registrations = new RegistrationLimit(backends.keyValueStore(), config.auth.registrationsPerHour);
			keyRing = await backends.signingRing();
			// Ended sessions are kept a while for investigations (reuse is detected from them), then dropped.
			purgeSessions = every(
				6 * 3600_000,
				() => accounts.purgeSessions(SESSION_RETENTION_DAYS),
				err => this.logger.warn(`Session purge failed: ${err.message}`),
			);
			provideLocalPublicKeys(this.broker, publicKeys);
			this.logger.info(`Signing access tokens with key ${keyRing.current.kid}${config.auth.keysFile ? "" : " (development key under DATA_DIR)"}`);
		},

		stopped() {
			purgeSessions?.stop();
		},

		events: {
			// The configured admin is created once every local service runs: it needs the users service
			// for the profile.
			async "$broker.started"() {
				const admin = config.auth.admin;
				if (!admin) return;
				try {
					await this.broker.waitForServices(["users", "partners"], 60_000);
					const result = await flows().ensureAdmin(admin.email, admin.password, { type: "operator", id: "ADMIN_EMAIL" });
					this.logger.info(`Admin ${result.created ? "created" : "confirmed"} from ADMIN_EMAIL (account ${result.userId})`);
				} catch (err) {
					this.logger.error(`Could not create the admin from ADMIN_EMAIL: ${(err as Error).message}`);
				}
			},
		},
	});
}
