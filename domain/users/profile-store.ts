/**
 * Profiles: what a user shows of themselves. The account (email, password, roles) belongs to the
 * auth service; this is the part other players see. Erasing a profile keeps nothing personal: the
 * row goes, and the public view of that id answers 404 from then on.
 */
import type { Migration, SqlClient } from "../../platform/sql";
import type { Profile, PublicProfile, UpdateProfileParams } from "../../contracts/users";

export const USERS_MIGRATIONS: readonly Migration[] = [
	{
		version: 1,
		name: "profiles",
		up: `
			create table profiles (
				id uuid primary key,
				display_name text not null,
				avatar_url text,
				locale text not null default 'en',
				created_at timestamptz not null default now(),
				updated_at timestamptz not null default now()
			);
		`,
	},
];

export const DEFAULT_LOCALE = "en";

type ProfileRow = { id: string; display_name: string; avatar_url: string | null; locale: string; created_at: Date; updated_at: Date };

const toProfile = (row: ProfileRow): Profile => ({
	id: row.id,
	displayName: row.display_name,
	avatarUrl: row.avatar_url,
	locale: row.locale,
	createdAt: row.created_at.toISOString(),
	updatedAt: row.updated_at.toISOString(),
});

export const publicView = (profile: Profile): PublicProfile => ({ id: profile.id, displayName: profile.displayName, avatarUrl: profile.avatarUrl });

export class ProfileStore {
	private readonly profiles: string;

	constructor(
		private readonly db: SqlClient,
		private readonly schema: string,
	) {
		this.profiles = `"${schema}".profiles`;
	}

	/** The same store inside a transaction someone else opened (see Outbox.transaction). */
	joined(db: SqlClient): ProfileStore {
		return new ProfileStore(db, this.schema);
	}

	/** Idempotent: the auth service may retry a registration step that already went through. */
	async create(userId: string, displayName: string, locale = DEFAULT_LOCALE): Promise<Profile> {
		const { rows } = await this.db.query<ProfileRow>(
			`insert into ${this.profiles} (id, display_name, locale) values ($1, $2, $3)
			 on conflict (id) do update set id = excluded.id returning *`,
			[userId, displayName, locale],
		);
		return toProfile(rows[0]);
	}

	async get(userId: string): Promise<Profile | undefined> {
		const { rows } = await this.db.query<ProfileRow>(`select * from ${this.profiles} where id = $1`, [userId]);
		return rows[0] && toProfile(rows[0]);
	}

	async update(userId: string, changes: UpdateProfileParams): Promise<Profile | undefined> {
		// Only the fields present change; an explicit null clears the avatar.
		const { rows } = await this.db.query<ProfileRow>(
			`update ${this.profiles} set
				display_name = coalesce($2, display_name),
				avatar_url = case when $3::boolean then $4 else avatar_url end,
				locale = coalesce($5, locale),
				updated_at = now()
			 where id = $1 returning *`,
			[userId, changes.displayName ?? null, changes.avatarUrl !== undefined, changes.avatarUrl ?? null, changes.locale ?? null],
		);
		return rows[0] && toProfile(rows[0]);
	}

	async erase(userId: string): Promise<boolean> {
		const { rowCount } = await this.db.query(`delete from ${this.profiles} where id = $1`, [userId]);
		return rowCount > 0;
	}
}
