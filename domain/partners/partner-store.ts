/**
 * Partner organisations and their members. Membership here is the truth: access tokens carry a copy
 * (refreshed at most every access-token lifetime), so decisions about a partner's own data are made
 * against these rows, never against a token's claims.
 */
import { randomUUID } from "node:crypto";
import type { Migration, SqlClient, SqlExecutor } from "../../platform/sql";
import type { PartnerRole } from "../../contracts/identity";
import type { NewPartner, PartnerMember, PartnerPublicView, PartnerStatus, PartnerView } from "../../contracts/partners";
export type { NewPartner } from "../../contracts/partners";

export const PARTNERS_MIGRATIONS: readonly Migration[] = [
	{
		version: 1,
		name: "partners and members",
		up: `
			create table partners (
				id uuid primary key,
				name text not null,
				description text,
				website text,
				contact_email text,
				status text not null default 'pending' check (status in ('pending', 'verified', 'suspended')),
				status_reason text,
				created_by uuid not null,
				created_at timestamptz not null default now(),
				updated_at timestamptz not null default now()
			);
			create index partners_status on partners (status, created_at);

			create table members (
				partner_id uuid not null references partners (id) on delete cascade,
				user_id uuid not null,
				role text not null check (role in ('owner', 'editor')),
				added_at timestamptz not null default now(),
				primary key (partner_id, user_id)
			);
			create index members_user on members (user_id);
		`,
	},
];

type PartnerRow = { id: string; name: string; description: string | null; website: string | null; contact_email: string | null; status: PartnerStatus; status_reason: string | null; created_at: Date };
type MemberRow = { partner_id: string; user_id: string; role: PartnerRole; added_at: Date };

const toMember = (row: MemberRow): PartnerMember => ({ userId: row.user_id, role: row.role, addedAt: row.added_at.toISOString() });

export const publicPartnerView = (partner: PartnerView): PartnerPublicView => ({ id: partner.id, name: partner.name, website: partner.website, status: partner.status });

export type MemberChange = { kind: "ok"; previousRole: PartnerRole | null } | { kind: "last-owner" } | { kind: "no-partner" } | { kind: "no-member" };

export class PartnerStore {
	private readonly partners: string;
	private readonly members: string;

	constructor(
		private readonly db: SqlClient,
		private readonly schema: string,
	) {
		this.partners = `"${schema}".partners`;
		this.members = `"${schema}".members`;
	}

	/** The same store inside a transaction someone else opened (see Outbox.transaction). */
	joined(db: SqlClient): PartnerStore {
		return new PartnerStore(db, this.schema);
	}

	async create(input: NewPartner, ownerId: string): Promise<PartnerView> {
		const id = randomUUID();
		await this.db.transaction(async tx => {
			await tx.query(`insert into ${this.partners} (id, name, description, website, contact_email, created_by) values ($1, $2, $3, $4, $5, $6)`, [
				id,
				input.name,
				input.description ?? null,
				input.website ?? null,
				input.contactEmail ?? null,
				ownerId,
			]);
			await tx.query(`insert into ${this.members} (partner_id, user_id, role) values ($1, $2, 'owner')`, [id, ownerId]);
		});
		return (await this.get(id))!;
	}

	async get(id: string, executor: SqlExecutor = this.db): Promise<PartnerView | undefined> {
		const { rows } = await executor.query<PartnerRow>(`select * from ${this.partners} where id = $1`, [id]);
		if (!rows[0]) return undefined;
		const members = await executor.query<MemberRow>(`select * from ${this.members} where partner_id = $1 order by added_at, user_id`, [id]);
		const row = rows[0];
		return {
			id: row.id,
			name: row.name,
			description: row.description,
			website: row.website,
			contactEmail: row.contact_email,
			status: row.status,
			statusReason: row.status_reason,
			createdAt: row.created_at.toISOString(),
			members: members.rows.map(toMember),
		};
	}

	async update(id: string, changes: Partial<NewPartner>): Promise<PartnerView | undefined> {
		const { rowCount } = await this.db.query(
			`update ${this.partners} set
				name = coalesce($2, name),
				description = case when $3::boolean then $4 else description end,
				website = case when $5::boolean then $6 else website end,
				contact_email = case when $7::boolean then $8 else contact_email end,
				updated_at = now()
			 where id = $1`,
			[
				id,
				changes.name ?? null,
				changes.description !== undefined,
				changes.description ?? null,
				changes.website !== undefined,
				changes.website ?? null,
				changes.contactEmail !== undefined,
				changes.contactEmail ?? null,
			],
		);
		return rowCount ? this.get(id) : undefined;
	}

	async roleOf(partnerId: string, userId: string): Promise<PartnerRole | undefined> {
		const { rows } = await this.db.query<{ role: PartnerRole }>(`select role from ${this.members} where partner_id = $1 and user_id = $2`, [partnerId, userId]);
		return rows[0]?.role;
	}

	async membershipsOf(userId: string): Promise<Record<string, PartnerRole>> {
		const { rows } = await this.db.query<{ partner_id: string; role: PartnerRole }>(`select partner_id, role from ${this.members} where user_id = $1`, [userId]);
		return Object.fromEntries(rows.map(row => [row.partner_id, row.role]));
	}

	/** Partners whose only owner is this user: they would be left without one if the account went. */
	async ownedAlone(userId: string): Promise<string[]> {
		const { rows } = await this.db.query<{ partner_id: string }>(
			`select m.partner_id from ${this.members} m
			 where m.user_id = $1 and m.role = 'owner'
			   and (select count(*) from ${this.members} o where o.partner_id = m.partner_id and o.role = 'owner') = 1
			 order by m.partner_id`,
			[userId],
		);
		return rows.map(row => row.partner_id);
	}

	async listForMember(userId: string): Promise<PartnerView[]> {
		const { rows } = await this.db.query<{ partner_id: string }>(`select partner_id from ${this.members} where user_id = $1 order by added_at`, [userId]);
		const views = await Promise.all(rows.map(row => this.get(row.partner_id)));
		return views.filter((view): view is PartnerView => view !== undefined);
	}

	async listByStatus(status: PartnerStatus | undefined, limit: number, offset: number): Promise<PartnerView[]> {
		const { rows } = await this.db.query<{ id: string }>(`select id from ${this.partners} where ($1::text is null or status = $1) order by created_at, id limit $2 offset $3`, [
			status ?? null,
			limit,
			offset,
		]);
		const views = await Promise.all(rows.map(row => this.get(row.id)));
		return views.filter((view): view is PartnerView => view !== undefined);
	}

	async setStatus(id: string, status: PartnerStatus, reason: string | null): Promise<PartnerView | undefined> {
		const { rowCount } = await this.db.query(`update ${this.partners} set status = $2, status_reason = $3, updated_at = now() where id = $1`, [id, status, reason]);
		return rowCount ? this.get(id) : undefined;
	}

	/**
	 * Adds a member or changes their role (role) or removes them (null). Serialised per partner
	 * (row lock), so two owners demoting each other at once cannot leave the partner without one.
	 */
	async setMember(partnerId: string, userId: string, role: PartnerRole | null): Promise<MemberChange> {
		return this.db.transaction(async tx => {
			const locked = await tx.query(`select id from ${this.partners} where id = $1 for update`, [partnerId]);
			if (!locked.rows[0]) return { kind: "no-partner" } as const;
			const current = await tx.query<{ role: PartnerRole }>(`select role from ${this.members} where partner_id = $1 and user_id = $2`, [partnerId, userId]);
			const previousRole = current.rows[0]?.role ?? null;
			if (role === null && previousRole === null) return { kind: "no-member" } as const;
			if (previousRole === "owner" && role !== "owner") {
				const owners = await tx.query<{ count: number }>(`select count(*)::int as count from ${this.members} where partner_id = $1 and role = 'owner'`, [partnerId]);
				if (owners.rows[0].count <= 1) return { kind: "last-owner" } as const;
			}
			if (role === null) await tx.query(`delete from ${this.members} where partner_id = $1 and user_id = $2`, [partnerId, userId]);
			else
				await tx.query(`insert into ${this.members} (partner_id, user_id, role) values ($1, $2, $3) on conflict (partner_id, user_id) do update set role = excluded.role`, [partnerId, userId, role]);
			return { kind: "ok", previousRole } as const;
		});
	}

	/** A deleted account leaves every partner, even as the last owner: an admin reassigns such partners. */
	async removeUserEverywhere(userId: string): Promise<string[]> {
		const { rows } = await this.db.query<{ partner_id: string }>(`delete from ${this.members} where user_id = $1 returning partner_id`, [userId]);
		return rows.map(row => row.partner_id);
	}
}
