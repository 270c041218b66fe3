/**
 * What the auth service does, as plain steps over its store, the login throttle, the key ring and
 * a few ports to the rest of the platform (profiles, memberships, revocation). No Moleculer here:
 * the service file maps actions onto these methods, and the spec runs them on PGlite.
 *
 * Every change commits with the messages about it (audit facts, the account-closed announcement)
 * through the outbox, so neither is ever without the other.
 *
 * Registration is a short saga: the account row is the step that decides (the unique email index
 * lets exactly one of many concurrent registrations through); creating the profile in the users
 * service follows, and if it fails the account is deleted again so a retry can succeed.
 */
import type { AuditActor } from "../../contracts/audit";
import type { PartnerRole, PlatformRole } from "../../contracts/identity";
import { SESSIONS_REVOKED_CHANNEL, USER_DELETED_CHANNEL, type AccountView, type AuthResult, type SessionsRevokedMessage, type SessionTokens, type UserDeletedMessage } from "../../contracts/auth";
import { writeAuditFact, type NewAuditFact } from "../audit/facts";
import { AppError, notFound } from "../../platform/errors/app-error";
import type { MessageWriter, Outbox } from "../../platform/outbox/outbox";
import { AccountStore, EmailTakenError, type AccountRecord } from "./account-store";
import { LoginThrottle, normaliseEmail, type RegistrationLimit } from "./login-throttle";
import { hashPassword, needsRehash, passwordProblems, verifyPassword } from "./passwords";
import { hashRefreshToken, newRefreshToken, signAccessToken, type KeyRing, type TokenSettings } from "../../platform/identity/tokens";

export interface AuthPorts {
	createProfile(userId: string, displayName: string): Promise<void>;
	membershipsOf(userId: string): Promise<Record<string, PartnerRole>>;
	/**
	 * Makes already-issued access tokens of these sessions stop working everywhere, at once. Called
	 * after the commit; the SESSIONS_REVOKED_CHANNEL message written with the revocation makes sure
	 * of it should this fail or the process die first.
	 */
	sessionsRevoked(sessionIds: string[]): Promise<void>;
}

/** Ending sessions is a change other nodes must learn of: it goes out with the transaction that made it. */
async function announceRevoked(messages: MessageWriter, sessionIds: string[]): Promise<void> {
	if (!sessionIds.length) return;
	const message: SessionsRevokedMessage = { sessionIds, at: new Date().toISOString() };
	await messages.add(SESSIONS_REVOKED_CHANNEL, message);
}

export interface AuthSettings {
	token: TokenSettings;
	refreshTtlSeconds: number;
}

export interface RequestOrigin {
	clientIp?: string;
	requestId?: string;
}

/** Verifying against this when the account does not exist costs the same as a real check. */
let decoyHash: Promise<string> | undefined;
const decoy = () => (decoyHash ??= hashPassword("decoy password that matches nothing"));

const accountSubject = (id: string) => ({ type: "account", id });

/** A fact about a request: with its request id, so an investigator can find the request's logs. */
const factFrom = (origin: RequestOrigin, fact: Omit<NewAuditFact, "requestId">): NewAuditFact => (origin.requestId ? { ...fact, requestId: origin.requestId } : fact);

export class AuthFlows {
	constructor(
		private readonly store: AccountStore,
		private readonly outbox: Outbox,
		private readonly throttle: LoginThrottle,
		private readonly keys: () => KeyRing,
		private readonly settings: AuthSettings,
		private readonly ports: AuthPorts,
		private readonly registrations?: RegistrationLimit,
	) {}

	async register(input: { email: string; password: string; displayName: string }, origin: RequestOrigin): Promise<AuthResult> {
		const verdict = (await this.registrations?.attempt(origin.clientIp ?? "unknown")) ?? { allowed: true };
		if (!verdict.allowed) throw new AppError("RATE_LIMITED", "Too many registrations from this address; try again later", { retryAfterSeconds: Math.ceil(verdict.retryAfterMs / 1000) });
		const email = input.email.trim();
		const displayName = input.displayName.trim();
		checkPassword(input.password, email, displayName);
		// Saves an argon2 run for the common duplicate; the insert still decides under races.
		if (await this.store.findByEmailKey(normaliseEmail(email))) throw new AppError("EMAIL_TAKEN");
		const account = await this.createAccount(email, input.password, displayName, ["player"]);
		if (!account) throw new AppError("EMAIL_TAKEN");
		return this.inTransaction(async (accounts, messages) => {
			const result = await this.startSession(accounts, account, {}, origin);
			await writeAuditFact(messages, factFrom(origin, { action: "auth.registered", actor: { type: "user", id: account.id, ip: origin.clientIp }, subject: accountSubject(account.id) }));
			return result;
		});
	}

	/**
	 * The same answer and about the same time for an unknown email and a wrong password, and the
	 * same throttling for both, so the endpoint cannot be used to learn who has an account.
	 */
	async login(input: { email: string; password: string }, origin: RequestOrigin): Promise<AuthResult> {
		const address = origin.clientIp ?? "unknown";
		const verdict = await this.throttle.begin(input.email, address);
		if (!verdict.allowed) {
			const retryAfterSeconds = Math.ceil(verdict.retryAfterMs / 1000);
			await this.record(factFrom(origin, { action: "auth.login.throttled", actor: { type: "anonymous", ip: origin.clientIp }, data: { retryAfterSeconds } }));
			throw new AppError("LOGIN_THROTTLED", undefined, { retryAfterSeconds });
		}
		const account = await this.store.findByEmailKey(normaliseEmail(input.email));
		const usable = account?.status === "active" && account.passwordHash ? account : undefined;
		const matches = await verifyPassword(input.password, usable?.passwordHash ?? (await decoy()));
		if (!usable || !matches) {
			await this.record(
				factFrom(origin, {
					action: "auth.login.failed",
					actor: { type: "anonymous", ip: origin.clientIp },
					// Which account was tried matters to an investigator; the email itself stays out of the log.
					...(usable ? { subject: accountSubject(usable.id) } : {}),
					data: { knownAccount: Boolean(usable) },
				}),
			);
			throw new AppError("INVALID_CREDENTIALS");
		}
		await this.throttle.recordSuccess(input.email, address);
		if (needsRehash(usable.passwordHash!)) await this.store.updatePasswordHash(usable.id, await hashPassword(input.password));
		const partners = await this.ports.membershipsOf(usable.id);
		return this.inTransaction(async (accounts, messages) => {
			const result = await this.startSession(accounts, usable, partners, origin);
			await writeAuditFact(messages, factFrom(origin, { action: "auth.login.succeeded", actor: { type: "user", id: usable.id, ip: origin.clientIp }, subject: accountSubject(usable.id) }));
			return result;
		});
	}

	async refresh(refreshToken: string, origin: RequestOrigin): Promise<AuthResult> {
		const next = newRefreshToken();
		const outcome = await this.inTransaction(async (accounts, messages) => {
			const outcome = await accounts.rotateRefreshToken(hashRefreshToken(refreshToken), next.hash, this.settings.refreshTtlSeconds);
			if (outcome.kind === "reused") {
				await announceRevoked(messages, [outcome.sessionId]);
				await writeAuditFact(
					messages,
					factFrom(origin, { action: "auth.refresh.reused", actor: { type: "anonymous", ip: origin.clientIp }, subject: accountSubject(outcome.accountId), data: { sessionId: outcome.sessionId } }),
				);
			}
			// Allowed (two tabs, a retry), but a thief racing the user looks the same: it goes on record.
			if (outcome.kind === "rotated" && outcome.sibling) {
				await writeAuditFact(
					messages,
					factFrom(origin, {
						action: "auth.refresh.grace_reuse",
						actor: { type: "anonymous", ip: origin.clientIp },
						subject: accountSubject(outcome.account.id),
						data: { sessionId: outcome.session.id },
					}),
				);
			}
			return outcome;
		});
		if (outcome.kind === "reused") await this.ports.sessionsRevoked([outcome.sessionId]);
		if (outcome.kind !== "rotated") {
			// Only failures count, and a token that works is never refused: clients behind one proxy
			// share an address, and a stream of bad tokens from one of them must not log the others out.
			const verdict = await this.throttle.beginRefresh(origin.clientIp ?? "unknown");
			if (!verdict.allowed) throw new AppError("REFRESH_THROTTLED", undefined, { retryAfterSeconds: Math.ceil(verdict.retryAfterMs / 1000) });
			throw new AppError("INVALID_REFRESH_TOKEN");
		}
		const { account, session } = outcome;
		const partners = await this.ports.membershipsOf(account.id);
		return { ...(await this.issue(account, partners, session.id, next.token)), user: view(account, partners) };
	}

	async logout(userId: string, sessionId: string, origin: RequestOrigin): Promise<void> {
		const revoked = await this.inTransaction(async (accounts, messages) => {
			if (!(await accounts.revokeSession(sessionId, userId, "logout"))) return false;
			await announceRevoked(messages, [sessionId]);
			await writeAuditFact(messages, factFrom(origin, { action: "auth.logout", actor: { type: "user", id: userId, ip: origin.clientIp }, subject: accountSubject(userId) }));
			return true;
		});
		if (revoked) await this.ports.sessionsRevoked([sessionId]);
	}

	async me(userId: string): Promise<AccountView> {
		const account = await this.store.findById(userId);
		if (!account || account.status !== "active") throw notFound("Account");
		return view(account, await this.ports.membershipsOf(account.id));
	}

	/**
	 * Deleting an account asks for the password again: a stolen access token alone cannot do it. The
	 * closure, the announcement that tells every service to erase what it holds about the user, and
	 * the audit fact commit together.
	 */
	async closeAccount(userId: string, password: string, origin: RequestOrigin): Promise<void> {
		const account = await this.store.findById(userId);
		if (!account || account.status !== "active") throw notFound("Account");
		// The same throttle as logins: a stolen access token must not allow unlimited password guesses.
		const address = origin.clientIp ?? "unknown";
		const verdict = await this.throttle.begin(account.emailKey, address);
		if (!verdict.allowed) throw new AppError("LOGIN_THROTTLED", undefined, { retryAfterSeconds: Math.ceil(verdict.retryAfterMs / 1000) });
		if (!account.passwordHash || !(await verifyPassword(password, account.passwordHash))) throw new AppError("INVALID_CREDENTIALS", "The password is wrong");
		await this.throttle.recordSuccess(account.emailKey, address);
		const revoked = await this.inTransaction(async (accounts, messages) => {
			const revoked = await accounts.closeAccount(userId);
			await announceRevoked(messages, revoked);
			const closed: UserDeletedMessage = { userId, at: new Date().toISOString() };
			await messages.add(USER_DELETED_CHANNEL, closed, { partitionKey: userId });
			await writeAuditFact(messages, factFrom(origin, { action: "auth.account.closed", actor: { type: "user", id: userId, ip: origin.clientIp }, subject: accountSubject(userId) }));
			return revoked;
		});
		await this.ports.sessionsRevoked(revoked);
	}

	async setRole(userId: string, role: PlatformRole, granted: boolean, actor: AuditActor, origin: RequestOrigin = {}): Promise<PlatformRole[]> {
		const { roles, revoked } = await this.inTransaction(async (accounts, messages) => {
			const roles = await accounts.setRole(userId, role, granted);
			if (!roles) throw notFound("Account");
			// A role taken away must not live on in access tokens already issued: end those sessions.
			const revoked = granted ? [] : await accounts.revokeSessionsOf(userId, `role ${role} revoked`);
			await announceRevoked(messages, revoked);
			await writeAuditFact(messages, factFrom(origin, { action: granted ? "auth.role.granted" : "auth.role.revoked", actor, subject: accountSubject(userId), data: { role } }));
			return { roles, revoked };
		});
		if (revoked.length) await this.ports.sessionsRevoked(revoked);
		return roles;
	}

	/**
	 * The first admin, from configuration or the REPL: creates the account with the given password
	 * if the email is unknown, otherwise promotes it (its password is left alone).
	 */
	async ensureAdmin(email: string, password: string | undefined, actor: AuditActor): Promise<{ userId: string; created: boolean }> {
		const existing = await this.store.findByEmailKey(normaliseEmail(email));
		if (existing && existing.status === "active") {
			// Anyone can register any email, so with a password given the account must prove it is the
			// intended one; without one (an operator at the REPL naming the account) it is promoted as is.
			if (password !== undefined && !(existing.passwordHash && (await verifyPassword(password, existing.passwordHash)))) {
				throw new AppError("CONFLICT", "An account with this email exists with another password; promote it with the REPL's admin-grant if it is the right one");
			}
			if (!existing.roles.includes("admin")) await this.setRole(existing.id, "admin", true, actor);
			return { userId: existing.id, created: false };
		}
		if (!password) throw new AppError("NOT_FOUND", "No account with this email; give a password to create it");
		const displayName = email.split("@")[0] || "admin";
		checkPassword(password, email, displayName);
		const account = await this.createAccount(email.trim(), password, displayName, ["player", "admin"]);
		// Another node bootstrapping the same admin at the same moment got there first.
		if (!account) return this.ensureAdmin(email, undefined, actor);
		await this.record({ action: "auth.role.granted", actor, subject: accountSubject(account.id), data: { role: "admin", created: true } });
		return { userId: account.id, created: true };
	}

	/** The account store and an outbox writer in one transaction: the change and its messages commit together. */
	private inTransaction<T>(work: (accounts: AccountStore, messages: MessageWriter) => Promise<T>): Promise<T> {
		return this.outbox.transaction((messages, db) => work(this.store.joined(db), messages));
	}

	/** A fact about something that changed no state of ours (a refused login). */
	private async record(fact: NewAuditFact): Promise<void> {
		await this.outbox.transaction(messages => writeAuditFact(messages, fact));
	}

	/**
	 * The account row, then its profile; undefined when the email is taken. The row is the step that
	 * decides between concurrent registrations, and it is deleted again if the profile cannot be
	 * made, so a retry can succeed.
	 */
	private async createAccount(email: string, password: string, displayName: string, roles: PlatformRole[]): Promise<AccountRecord | undefined> {
		let account: AccountRecord;
		try {
			account = await this.store.createAccount({ email, emailKey: normaliseEmail(email), passwordHash: await hashPassword(password), displayName, roles });
		} catch (err) {
			if (err instanceof EmailTakenError) return undefined;
			throw err;
		}
		try {
			await this.ports.createProfile(account.id, displayName);
		} catch (err) {
			await this.store.deleteAccount(account.id);
			throw err;
		}
		return account;
	}

	private async startSession(accounts: AccountStore, account: AccountRecord, partners: Record<string, PartnerRole>, origin: RequestOrigin): Promise<AuthResult> {
		const refresh = newRefreshToken();
		const session = await accounts.createSession(account.id, refresh.hash, this.settings.refreshTtlSeconds, origin.clientIp);
		return { ...(await this.issue(account, partners, session.id, refresh.token)), user: view(account, partners) };
	}

	private async issue(account: AccountRecord, partners: Record<string, PartnerRole>, sessionId: string, refreshToken: string): Promise<SessionTokens> {
		const accessToken = await signAccessToken(this.keys(), { sub: account.id, roles: account.roles, partners, sid: sessionId }, this.settings.token);
		return { accessToken, expiresIn: this.settings.token.accessTtlSeconds, refreshToken, tokenType: "Bearer" };
	}
}

function checkPassword(password: string, email: string, displayName: string): void {
	const problems = passwordProblems(password, { email, displayName });
	if (problems.length) throw new AppError("WEAK_PASSWORD", undefined, { problems });
}

function view(account: AccountRecord, partners: Record<string, PartnerRole>): AccountView {
	return { id: account.id, email: account.email, displayName: account.displayName, roles: account.roles, partners, createdAt: account.createdAt.toISOString() };
}
