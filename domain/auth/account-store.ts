/**
 * The auth service's tables: accounts (credentials and platform roles) and sessions, each session
 * being one refresh-token family. Every refresh token ever issued is kept (as a hash) with the time
 * it was used, which is how a replayed one is recognised and its whole family revoked.
 */
import { randomUUID } from "node:crypto";
import { isSqlError, SQLSTATE, type Migration, type SqlClient } from "../../platform/sql";
import type { PlatformRole } from "../../contracts/identity";

export const AUTH_MIGRATIONS: readonly Migration[] = [
	{
		version: 1,
		name: "accounts and sessions",
		up: `
			create table accounts (
				id uuid primary key,
				-- As typed (trimmed); shown back to the user.
				email text not null,
				-- NFKC + lower case: the uniqueness key, so Alice@x and alice@x are one account.
				email_key text not null,
				password_hash text,
				display_name text not null,
				roles jsonb not null default '["player"]',
				status text not null default 'active' check (status in ('active', 'closed')),
				created_at timestamptz not null default now(),
				updated_at timestamptz not null default now(),
				closed_at timestamptz
			);
			create unique index accounts_email_key on accounts (email_key);

			create table sessions (
				id uuid primary key,
				account_id uuid not null references accounts (id) on delete cascade,
				created_at timestamptz not null default now(),
				last_used_at timestamptz not null default now(),
				expires_at timestamptz not null,
				revoked_at timestamptz,
				revoked_reason text,
				client_ip text
			);
			create index sessions_account on sessions (account_id);

			create table refresh_tokens (
				token_hash text primary key,
				session_id uuid not null references sessions (id) on delete cascade,
				issued_at timestamptz not null default now(),
				used_at timestamptz
			);
			create index refresh_tokens_session on refresh_tokens (session_id);
		`,
	},
	{
		version: 2,
		name: "closure announcements",
		// A closed account is announced to the other services after its commit; the mark says it
		// went out, so an announcement lost to a crash in between is sent again.
		up: `
			alter table accounts add column closure_announced_at timestamptz;
			create index accounts_unannounced_closures on accounts (closed_at) where status = 'closed' and closure_announced_at is null;
		`,
	},
	{
		version: 3,
		name: "refresh reuse grace",
		// A used token presented again within the grace window (two tabs, a retried request) gets one
		// sibling token instead of revoking the session; this marks that it had it.
		up: `alter table refresh_tokens add column grace_reused_at timestamptz;`,
	},
	{
		version: 4,
		name: "display name change times",
		// Renames arrive as channel messages, possibly out of order or replayed: the newest one wins.
		up: `alter table accounts add column display_name_at timestamptz;`,
	},
	{
		version: 5,
		name: "closure announcements through the outbox",
		// Closures now announce themselves through the outbox, in their own transaction. Any that an
		// older build closed without getting the announcement out are handed to the outbox here.
		up: `
			insert into outbox (id, channel, payload, partition_key)
			select gen_random_uuid(), 'users.deleted', json_build_object('userId', id, 'at', to_char(closed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text, id::text
			  from accounts where status = 'closed' and closure_announced_at is null;
			update accounts set closure_announced_at = now() where status = 'closed' and closure_announced_at is null;
		`,
	},
];

/** How long after its use a refresh token may be presented once more without revoking the session. */
export const REFRESH_REUSE_GRACE_SECONDS = 10;

export interface AccountRecord {
	id: string;
	email: string;
	emailKey: string;
	passwordHash: string | null;
	displayName: string;
	roles: PlatformRole[];
	status: "active" | "closed";
	createdAt: Date;
}

export interface SessionRecord {
	id: string;
	accountId: string;
	expiresAt: Date;
	revokedAt: Date | null;
}

export class EmailTakenError extends Error {
	constructor() {
		super("email taken");
		this.name = "EmailTakenError";
	}
}

type AccountRow = { id: string; email: string; email_key: string; password_hash: string | null; display_name: string; roles: PlatformRole[]; status: "active" | "closed"; created_at: Date };

const toAccount = (row: AccountRow): AccountRecord => ({
	id: row.id,
	email: row.email,
	emailKey: row.email_key,
	passwordHash: row.password_hash,
	displayName: row.display_name,
	roles: row.roles,
	status: row.status,
	createdAt: row.created_at,
});

export type RefreshOutcome =
	/** `sibling`: a used token presented again within the grace window got a second successor. */
	{ kind: "rotated"; session: SessionRecord; account: AccountRecord; sibling?: true } | { kind: "reused"; sessionId: string; accountId: string } | { kind: "invalid" };

export class AccountStore {
	private readonly accounts: string;
	private readonly sessions: string;
	private readonly tokens: string;

	constructor(
		private readonly db: SqlClient,
		private readonly schema: string,
	) {
		this.accounts = `"${schema}".accounts`;
		this.sessions = `"${schema}".sessions`;
		this.tokens = `"${schema}".refresh_tokens`;
	}

	/** The same store inside a transaction someone else opened (see Outbox.transaction). */
	joined(db: SqlClient): AccountStore {
		return new AccountStore(db, this.schema);
	}

	/** Throws EmailTakenError when the normalised email is already used (the unique index decides). */
	async createAccount(input: { email: string; emailKey: string; passwordHash: string; displayName: string; roles?: PlatformRole[] }): Promise<AccountRecord> {
		try {
			const { rows } = await this.db.query<AccountRow>(
				`insert into ${this.accounts} (id, email, email_key, password_hash, display_name, roles) values ($1, $2, $3, $4, $5, $6::text::jsonb) returning *`,
				[randomUUID(), input.email, input.emailKey, input.passwordHash, input.displayName, JSON.stringify(input.roles ?? ["player"])],
			);
			return toAccount(rows[0]);
		} catch (err) {
			if (isSqlError(err, SQLSTATE.uniqueViolation)) throw new EmailTakenError();
			throw err;
		}
	}

	/** Compensation for a registration whose later steps failed: the account never existed. */
	async deleteAccount(id: string): Promise<void> {
		await this.db.query(`delete from ${this.accounts} where id = $1`, [id]);
	}

	async findByEmailKey(emailKey: string): Promise<AccountRecord | undefined> {
		const { rows } = await this.db.query<AccountRow>(`select * from ${this.accounts} where email_key = $1`, [emailKey]);
		return rows[0] && toAccount(rows[0]);
	}

	async findById(id: string): Promise<AccountRecord | undefined> {
		const { rows } = await this.db.query<AccountRow>(`select * from ${this.accounts} where id = $1`, [id]);
		return rows[0] && toAccount(rows[0]);
	}

	async updatePasswordHash(id: string, passwordHash: string): Promise<void> {
		await this.db.query(`update ${this.accounts} set password_hash = $2, updated_at = now() where id = $1`, [id, passwordHash]);
	}

	/** Applies a rename made at `at`, unless a later one is already in (redelivered or replayed messages). */
	async updateDisplayName(id: string, displayName: string, at: string): Promise<void> {
		await this.db.query(
			`update ${this.accounts} set display_name = $2, display_name_at = $3, updated_at = now()
			 where id = $1 and status = 'active' and (display_name_at is null or display_name_at < $3)`,
			[id, displayName, at],
		);
	}

	/** Returns the roles after the change, or undefined when there is no such active account. */
	async setRole(id: string, role: PlatformRole, granted: boolean): Promise<PlatformRole[] | undefined> {
		const { rows } = await this.db.query<{ roles: PlatformRole[] }>(
			granted
				? `update ${this.accounts} set roles = case when roles ? $2 then roles else roles || jsonb_build_array($2::text) end, updated_at = now() where id = $1 and status = 'active' returning roles`
				: `update ${this.accounts} set roles = roles - $2::text, updated_at = now() where id = $1 and status = 'active' returning roles`,
			[id, role],
		);
		return rows[0]?.roles;
	}

	/**
	 * Erases what identifies the person (email, password, name) but keeps the row, so ids other
	 * services still hold never point at a new account. Revokes every session in the same transaction.
	 */
	async closeAccount(id: string): Promise<string[]> {
		return this.db.transaction(async tx => {
			await tx.query(
				`update ${this.accounts} set status = 'closed', email = '', email_key = 'closed:' || id::text, password_hash = null, display_name = '', roles = '[]', closed_at = now(), updated_at = now() where id = $1`,
				[id],
			);
			// Addresses are personal data too; the sessions stay only as ids for the reuse check.
			await tx.query(`update ${this.sessions} set client_ip = null where account_id = $1`, [id]);
			const { rows } = await tx.query<{ id: string }>(`update ${this.sessions} set revoked_at = now(), revoked_reason = 'account closed' where account_id = $1 and revoked_at is null returning id`, [
				id,
			]);
			return rows.map(row => row.id);
		});
	}

	async createSession(accountId: string, tokenHash: string, ttlSeconds: number, clientIp: string | undefined): Promise<SessionRecord> {
		return this.db.transaction(async tx => {
			const id = randomUUID();
			const { rows } = await tx.query<{ id: string; account_id: string; expires_at: Date; revoked_at: Date | null }>(
				`insert into ${this.sessions} (id, account_id, expires_at, client_ip) values ($1, $2, now() + make_interval(secs => $3), $4) returning id, account_id, expires_at, revoked_at`,
				[id, accountId, ttlSeconds, clientIp ?? null],
			);
			await tx.query(`insert into ${this.tokens} (token_hash, session_id) values ($1, $2)`, [tokenHash, id]);
			const row = rows[0];
			return { id: row.id, accountId: row.account_id, expiresAt: row.expires_at, revokedAt: row.revoked_at };
		});
	}

	/**
	 * Exchanges a refresh token for the next one of its family, atomically: the row lock means two
	 * concurrent uses of one token cannot both succeed. A token already used means it was copied:
	 * the whole family is revoked, and the legitimate holder has to log in again as well.
	 */
	/**
	 * Exchanges a refresh token for the next one, under row locks so one token never forks. A token
	 * already used is reuse, which revokes the session (a stolen copy is assumed), except once within
	 * `graceSeconds` of its use: two tabs or a retried request then get a sibling token instead.
	 */
	async rotateRefreshToken(presentedHash: string, nextHash: string, ttlSeconds: number, graceSeconds = REFRESH_REUSE_GRACE_SECONDS): Promise<RefreshOutcome> {
		return this.db.transaction(async tx => {
			const { rows } = await tx.query<{ session_id: string; used_at: Date | null; in_grace: boolean; grace_reused_at: Date | null; account_id: string; expires_at: Date; revoked_at: Date | null }>(
				`select t.session_id, t.used_at, t.grace_reused_at, s.account_id, s.expires_at, s.revoked_at,
				        coalesce(t.used_at > now() - make_interval(secs => $2), false) as in_grace
				   from ${this.tokens} t join ${this.sessions} s on s.id = t.session_id
				  where t.token_hash = $1 for update of t, s`,
				[presentedHash, graceSeconds],
			);
			const found = rows[0];
			if (!found) return { kind: "invalid" } as const;
			if (found.revoked_at || found.expires_at.getTime() <= Date.now()) return { kind: "invalid" } as const;
			if (found.used_at && (!found.in_grace || found.grace_reused_at)) {
				await tx.query(`update ${this.sessions} set revoked_at = now(), revoked_reason = 'refresh token reused' where id = $1`, [found.session_id]);
				return { kind: "reused", sessionId: found.session_id, accountId: found.account_id } as const;
			}
			const accounts = await tx.query<AccountRow>(`select * from ${this.accounts} where id = $1 and status = 'active'`, [found.account_id]);
			if (!accounts.rows[0]) return { kind: "invalid" } as const;
			if (found.used_at) await tx.query(`update ${this.tokens} set grace_reused_at = now() where token_hash = $1`, [presentedHash]);
			else await tx.query(`update ${this.tokens} set used_at = now() where token_hash = $1`, [presentedHash]);
			await tx.query(`insert into ${this.tokens} (token_hash, session_id) values ($1, $2)`, [nextHash, found.session_id]);
			const updated = await tx.query<{ expires_at: Date }>(`update ${this.sessions} set last_used_at = now(), expires_at = now() + make_interval(secs => $2) where id = $1 returning expires_at`, [
				found.session_id,
				ttlSeconds,
			]);
			return {
				kind: "rotated",
				session: { id: found.session_id, accountId: found.account_id, expiresAt: updated.rows[0].expires_at, revokedAt: null },
				account: toAccount(accounts.rows[0]),
				...(found.used_at ? { sibling: true as const } : {}),
			} as const;
		});
	}

	async revokeSessionsOf(accountId: string, reason: string): Promise<string[]> {
		const { rows } = await this.db.query<{ id: string }>(`update ${this.sessions} set revoked_at = now(), revoked_reason = $2 where account_id = $1 and revoked_at is null returning id`, [
			accountId,
			reason,
		]);
		return rows.map(row => row.id);
	}

	/** Logout: revokes the session the token belongs to, if it is this account's. */
	async revokeSession(sessionId: string, accountId: string, reason: string): Promise<boolean> {
		const { rows } = await this.db.query<{ id: string }>(`update ${this.sessions} set revoked_at = now(), revoked_reason = $3 where id = $1 and account_id = $2 and revoked_at is null returning id`, [
			sessionId,
			accountId,
			reason,
		]);
		return rows.length > 0;
	}

	/** Housekeeping: sessions long expired or revoked, with their tokens. */
	async purgeSessions(olderThanDays: number): Promise<number> {
		const { rowCount } = await this.db.query(`delete from ${this.sessions} where coalesce(revoked_at, expires_at) < now() - make_interval(days => $1)`, [olderThanDays]);
		return rowCount;
	}
}
