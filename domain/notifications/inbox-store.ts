/**
 * Each user's notifications: the notifications service's own tables. Every notification gets the
 * next number of its user's sequence, taken under the lock of the user's counter row in the
 * transaction that stores it, so numbers only grow, with no gap a reader could mistake for a loss
 * and no two alike however many arrive at once: a live client that reconnects asks for everything
 * after the last number it saw (`Last-Event-ID`) and gets exactly what it missed, in order. A
 * notification made from a durable event names that event (`sourceId`): delivered twice, it is
 * stored once.
 */
import { SQLSTATE, type Migration, type SqlClient, type SqlError } from "../../platform/sql";

export const NOTIFICATIONS_MIGRATIONS: readonly Migration[] = [
	{
		version: 1,
		name: "inboxes and their sequences",
		up: `
			create table inbox_sequences (
				user_id uuid primary key,
				last_seq bigint not null
			);

			create table notifications (
				user_id uuid not null,
				seq bigint not null,
				source_id text not null,
				kind text not null,
				title text not null,
				body text not null,
				data jsonb not null,
				created_at timestamptz not null,
				read_at timestamptz,
				primary key (user_id, seq),
				unique (user_id, source_id)
			);
			create index notifications_unread on notifications (user_id) where read_at is null;
		`,
	},
	{
		version: 2,
		name: "what each user has pushed live",
		up: `
			create table push_preferences (
				user_id uuid not null,
				kind text not null,
				push boolean not null,
				primary key (user_id, kind)
			);
		`,
	},
];

export interface NewNotification {
	userId: string;
	/** The event it comes from: the same one twice is stored once. */
	sourceId: string;
	kind: string;
	title: string;
	body: string;
	data: Record<string, unknown>;
}

export interface StoredNotification {
	seq: number;
	kind: string;
	title: string;
	body: string;
	data: Record<string, unknown>;
	createdAt: Date;
	readAt: Date | null;
}

type NotificationRow = { seq: string | number; kind: string; title: string; body: string; data: Record<string, unknown>; created_at: Date; read_at: Date | null };

export class InboxStore {
	private readonly sequences: string;
	private readonly notifications: string;
	private readonly preferences: string;

	constructor(
		readonly db: SqlClient,
		schema: string,
	) {
		this.sequences = `"${schema}".inbox_sequences`;
		this.notifications = `"${schema}".notifications`;
		this.preferences = `"${schema}".push_preferences`;
	}

	/** Stores the notification under the user's next number; undefined when its event was stored already. */
	async add(notification: NewNotification, now: Date): Promise<StoredNotification | undefined> {
		try {
			return await this.db.transaction(async tx => {
				const next = await tx.query<{ last_seq: string | number }>(
					`insert into ${this.sequences} (user_id, last_seq) values ($1, 1)
					 on conflict (user_id) do update set last_seq = ${this.sequences}.last_seq + 1 returning last_seq`,
					[notification.userId],
				);
				const seq = Number(next.rows[0].last_seq);
				const { userId, sourceId, kind, title, body, data } = notification;
				await tx.query(`insert into ${this.notifications} (user_id, seq, source_id, kind, title, body, data, created_at) values ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8)`, [
					userId,
					seq,
					sourceId,
					kind,
					title,
					body,
					JSON.stringify(data),
					now,
				]);
				return { seq, kind, title, body, data, createdAt: now, readAt: null };
			});
		} catch (err) {
			// Its event delivered again: the first delivery stored it (and its number was given back).
			if ((err as SqlError).code === SQLSTATE.uniqueViolation) return undefined;
			throw err;
		}
	}

	/** The user's notifications after `seq`, oldest first: what a reconnecting client missed. */
	async after(userId: string, seq: number, limit: number): Promise<StoredNotification[]> {
		const found = await this.db.query<NotificationRow>(`select seq, kind, title, body, data, created_at, read_at from ${this.notifications} where user_id = $1 and seq > $2 order by seq limit $3`, [
			userId,
			seq,
			limit,
		]);
		return found.rows.map(notificationOf);
	}

	/** The user's notifications before `seq` (all when absent), newest first: the inbox, a page at a time. */
	async page(userId: string, before: number | undefined, limit: number): Promise<StoredNotification[]> {
		const found = await this.db.query<NotificationRow>(
			`select seq, kind, title, body, data, created_at, read_at from ${this.notifications} where user_id = $1 and seq < $2 order by seq desc limit $3`,
			[userId, before ?? Number.MAX_SAFE_INTEGER, limit],
		);
		return found.rows.map(notificationOf);
	}

	/** The notification an event made for the user, if it was stored. */
	async bySource(userId: string, sourceId: string): Promise<StoredNotification | undefined> {
		const found = await this.db.query<NotificationRow>(`select seq, kind, title, body, data, created_at, read_at from ${this.notifications} where user_id = $1 and source_id = $2`, [userId, sourceId]);
		return found.rows[0] && notificationOf(found.rows[0]);
	}

	/** The user's newest number (0 before their first notification). */
	async lastSeq(userId: string): Promise<number> {
		const found = await this.db.query<{ last_seq: string | number }>(`select last_seq from ${this.sequences} where user_id = $1`, [userId]);
		return Number(found.rows[0]?.last_seq ?? 0);
	}

	/** Per kind, whether the user has it pushed live; kinds they never set are absent. */
	async pushPreferences(userId: string): Promise<Record<string, boolean>> {
		const found = await this.db.query<{ kind: string; push: boolean }>(`select kind, push from ${this.preferences} where user_id = $1`, [userId]);
		return Object.fromEntries(found.rows.map(row => [row.kind, row.push]));
	}

	async setPushPreferences(userId: string, push: Partial<Record<string, boolean>>): Promise<void> {
		await this.db.transaction(async tx => {
			for (const [kind, on] of Object.entries(push)) {
				if (on === undefined) continue;
				await tx.query(`insert into ${this.preferences} (user_id, kind, push) values ($1, $2, $3) on conflict (user_id, kind) do update set push = excluded.push`, [userId, kind, on]);
			}
		});
	}

	/** A closed account: everything held about the user goes (its numbers too: the id is never reused). */
	async forget(userId: string): Promise<void> {
		await this.db.transaction(async tx => {
			for (const table of [this.notifications, this.preferences, this.sequences]) await tx.query(`delete from ${table} where user_id = $1`, [userId]);
		});
	}

	async unread(userId: string): Promise<number> {
		const found = await this.db.query<{ n: number }>(`select count(*)::int as n from ${this.notifications} where user_id = $1 and read_at is null`, [userId]);
		return found.rows[0].n;
	}

	/** Marks these of the user's notifications read (others' numbers mean nothing here); resolves how many changed. */
	async markRead(userId: string, seqs: readonly number[], now: Date): Promise<number> {
		if (!seqs.length) return 0;
		const updated = await this.db.query(`update ${this.notifications} set read_at = $3 where user_id = $1 and seq = any($2::bigint[]) and read_at is null`, [userId, seqs.map(String), now]);
		return updated.rowCount;
	}
}

function notificationOf(row: NotificationRow): StoredNotification {
	return { seq: Number(row.seq), kind: row.kind, title: row.title, body: row.body, data: row.data, createdAt: row.created_at, readAt: row.read_at };
}
