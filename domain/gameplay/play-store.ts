/**
 * Participations and what each has done: discoveries (and solved challenges), hints taken, wrong
 * answers, cheat flags. The gameplay service's own tables; a hunt's clues come from the hunts
 * service (its playbook), never from its tables.
 */
import { randomUUID } from "node:crypto";
import { SQLSTATE, type Migration, type SqlClient, type SqlError, type SqlExecutor } from "../../platform/sql";
import type { FixHistory, Flag } from "./anti-cheat/fix";
import type { ClosedBy } from "./closing";
import type { ParticipationState } from "./participation-lifecycle";

export const GAMEPLAY_MIGRATIONS: readonly Migration[] = [
	{
		version: 1,
		name: "participations, discoveries, hints, wrong answers, flags",
		up: `
			create table participations (
				id uuid primary key,
				hunt_id uuid not null,
				player_id uuid not null,
				state text not null check (state in ('active', 'completed', 'suspended', 'disqualified')),
				score integer not null default 0,
				started_at timestamptz not null,
				completed_at timestamptz,
				fix_history jsonb not null default '{"recent": []}',
				flag_times jsonb not null default '[]',
				unique (hunt_id, player_id)
			);
			create index participations_player on participations (player_id);

			-- Seats taken per hunt with a capacity: one row to lock, so concurrent joins never exceed it.
			create table hunt_seats (
				hunt_id uuid primary key,
				taken integer not null check (taken >= 0)
			);

			create table discoveries (
				participation_id uuid not null references participations (id) on delete cascade,
				clue_id uuid not null,
				discovered_at timestamptz not null,
				solved_at timestamptz,
				primary key (participation_id, clue_id)
			);

			create table hints_taken (
				participation_id uuid not null references participations (id) on delete cascade,
				clue_id uuid not null,
				seq integer not null,
				cost integer not null,
				taken_at timestamptz not null,
				primary key (participation_id, clue_id, seq)
			);

			create table wrong_answers (
				participation_id uuid not null references participations (id) on delete cascade,
				clue_id uuid not null,
				answered_at timestamptz not null
			);
			create index wrong_answers_clue on wrong_answers (participation_id, clue_id, answered_at);

			create table flags (
				id uuid primary key,
				participation_id uuid not null references participations (id) on delete cascade,
				code text not null,
				evidence jsonb not null,
				raised_at timestamptz not null
			);
			create index flags_participation on flags (participation_id, raised_at);
		`,
	},
	{
		version: 2,
		name: "when each participation last reported, for operators",
		up: `alter table participations add column last_report_at timestamptz;`,
	},
	{
		version: 3,
		name: "a version per participation for the shared cache, and when each closes",
		up: `
			-- Counts committed changes: a cached copy of the participation is current while its version is the row's.
			alter table participations add column version integer not null default 0;
			-- The earlier of the hunt's end and the player's time limit, and which of the two it is; null
			-- for participations joined before these columns (they close when they next play).
			alter table participations add column closes_at timestamptz;
			alter table participations add column closes_by text check (closes_by in ('time_limit', 'hunt_end'));
			-- Set when time ran out before a finish was reached.
			alter table participations add column closed_by text check (closed_by in ('time_limit', 'hunt_end'));
			create index participations_closing on participations (closes_at) where state = 'active';
		`,
	},
];

export interface ParticipationRecord {
	id: string;
	huntId: string;
	playerId: string;
	state: ParticipationState;
	score: number;
	startedAt: Date;
	completedAt: Date | null;
	/** When play stops for this participation (null: joined before this was recorded). */
	closesAt: Date | null;
	closedBy: ClosedBy | null;
	/** Committed changes so far; every `apply` adds one. */
	version: number;
	history: FixHistory;
	flagTimes: number[];
	/** Clue id → when discovered, and when its challenge was solved. */
	discoveries: Map<string, { discoveredAt: Date; solvedAt: Date | null }>;
	/** Clue id → the costs of the hints taken, in order. */
	hintsTaken: Map<string, number[]>;
}

/** A participations row as SQL returns it, without the play's memory (what the history reads). */
export type ParticipationRowSummary = {
	id: string;
	hunt_id: string;
	player_id: string;
	state: ParticipationState;
	score: number;
	started_at: Date;
	completed_at: Date | null;
	closes_at: Date | null;
	closed_by: ClosedBy | null;
};

type ParticipationRow = ParticipationRowSummary & {
	version: number;
	fix_history: FixHistory;
	flag_times: number[];
};

export type JoinResult = { kind: "joined"; id: string } | { kind: "already"; id: string } | { kind: "full" };

/** What one decision changes; written in one transaction with the participation row locked. */
export interface ParticipationChanges {
	state?: ParticipationState;
	score?: number;
	completedAt?: Date;
	closedBy?: ClosedBy;
	history?: FixHistory;
	flagTimes?: number[];
	discovered?: readonly string[];
	solved?: string;
	flags?: readonly Flag[];
	wrongAnswer?: string;
	hint?: { clueId: string; seq: number; cost: number };
	/** A position report was received (flagged or not). */
	reported?: boolean;
}

/** The record as `apply` leaves it: what is cached after a commit, and what a decision scores. */
export function appliedTo(record: ParticipationRecord, changes: ParticipationChanges, now: Date): ParticipationRecord {
	const next: ParticipationRecord = { ...record, version: record.version + 1, discoveries: new Map(record.discoveries), hintsTaken: new Map(record.hintsTaken) };
	if (changes.state) next.state = changes.state;
	if (changes.score !== undefined) next.score = changes.score;
	if (changes.completedAt) next.completedAt = changes.completedAt;
	if (changes.closedBy) next.closedBy = changes.closedBy;
	if (changes.history) next.history = changes.history;
	if (changes.flagTimes) next.flagTimes = changes.flagTimes;
	for (const clueId of changes.discovered ?? []) if (!next.discoveries.has(clueId)) next.discoveries.set(clueId, { discoveredAt: now, solvedAt: null });
	const solved = changes.solved && next.discoveries.get(changes.solved);
	if (solved && !solved.solvedAt) next.discoveries.set(changes.solved!, { ...solved, solvedAt: now });
	if (changes.hint) next.hintsTaken.set(changes.hint.clueId, [...(next.hintsTaken.get(changes.hint.clueId) ?? []), changes.hint.cost]);
	return next;
}

export interface HuntLiveState {
	byState: Record<ParticipationState, number>;
	/** Active participations that reported in the last five minutes. */
	reportingNow: number;
	/** Seconds since each active participation's last report: newest, median, oldest (none reported: null). */
	lastReportAgeSeconds: { newest: number; median: number; oldest: number } | null;
	discoveriesByClue: Map<string, number>;
}

export class PlayStore {
	private readonly participations: string;
	private readonly seats: string;
	private readonly discoveries: string;
	private readonly hints: string;
	private readonly wrongAnswers: string;
	private readonly flags: string;

	constructor(
		readonly db: SqlClient,
		schema: string,
	) {
		const table = (name: string) => `"${schema}".${name}`;
		this.participations = table("participations");
		this.seats = table("hunt_seats");
		this.discoveries = table("discoveries");
		this.hints = table("hints_taken");
		this.wrongAnswers = table("wrong_answers");
		this.flags = table("flags");
	}

	/**
	 * A new participation, unless the player already has one in this hunt or its seats are taken.
	 * The seat count is one row updated under its lock, so joins racing for the last seat get it once.
	 */
	/** `transaction` runs the join's work in the caller's transaction, where what announces it is written too. */
	async join(
		huntId: string,
		playerId: string,
		capacity: number | null,
		now: Date,
		closing: { at: Date; by: ClosedBy },
		transaction: (work: (tx: SqlExecutor) => Promise<JoinResult>) => Promise<JoinResult> = work => this.db.transaction(work),
	): Promise<JoinResult> {
		const existing = await this.idOf(this.db, huntId, playerId);
		if (existing) return { kind: "already", id: existing };
		try {
			return await transaction(async tx => {
				if (capacity !== null) {
					await tx.query(`insert into ${this.seats} (hunt_id, taken) values ($1, 0) on conflict (hunt_id) do nothing`, [huntId]);
					const seat = await tx.query(`update ${this.seats} set taken = taken + 1 where hunt_id = $1 and taken < $2 returning taken`, [huntId, capacity]);
					if (!seat.rows.length) return { kind: "full" as const };
				}
				const id = randomUUID();
				await tx.query(`insert into ${this.participations} (id, hunt_id, player_id, state, started_at, closes_at, closes_by) values ($1, $2, $3, 'active', $4, $5, $6)`, [
					id,
					huntId,
					playerId,
					now,
					closing.at,
					closing.by,
				]);
				return { kind: "joined" as const, id };
			});
		} catch (err) {
			// The same player joining twice at once: the second insert meets the first's row (and its
			// seat is rolled back with it).
			if ((err as SqlError).code !== SQLSTATE.uniqueViolation) throw err;
			const id = await this.idOf(this.db, huntId, playerId);
			if (!id) throw err;
			return { kind: "already", id };
		}
	}

	/** Which hunt a participation plays, and whose it is (none for an unknown id). */
	async huntOf(id: string): Promise<{ huntId: string; playerId: string } | undefined> {
		const found = await this.db.query<{ hunt_id: string; player_id: string }>(`select hunt_id, player_id from ${this.participations} where id = $1`, [id]);
		const row = found.rows[0];
		return row && { huntId: row.hunt_id, playerId: row.player_id };
	}

	/** The player's participation in this hunt, if they joined it. */
	participationOf(huntId: string, playerId: string): Promise<string | undefined> {
		return this.idOf(this.db, huntId, playerId);
	}

	private async idOf(db: SqlExecutor, huntId: string, playerId: string): Promise<string | undefined> {
		const found = await db.query<{ id: string }>(`select id from ${this.participations} where hunt_id = $1 and player_id = $2`, [huntId, playerId]);
		return found.rows[0]?.id;
	}

	/** The participation with all it has done; `forUpdate` locks its row until `db`'s transaction ends. */
	async load(db: SqlExecutor, id: string, options: { forUpdate?: boolean } = {}): Promise<ParticipationRecord | undefined> {
		const found = await db.query<ParticipationRow>(
			`select id, hunt_id, player_id, state, score, started_at, completed_at, closes_at, closed_by, version, fix_history, flag_times
			 from ${this.participations} where id = $1${options.forUpdate ? " for update" : ""}`,
			[id],
		);
		const row = found.rows[0];
		if (!row) return undefined;
		const [discoveries, hints] = await Promise.all([
			db.query<{ clue_id: string; discovered_at: Date; solved_at: Date | null }>(`select clue_id, discovered_at, solved_at from ${this.discoveries} where participation_id = $1`, [id]),
			db.query<{ clue_id: string; cost: number }>(`select clue_id, cost from ${this.hints} where participation_id = $1 order by clue_id, seq`, [id]),
		]);
		const hintsTaken = new Map<string, number[]>();
		for (const hint of hints.rows) hintsTaken.set(hint.clue_id, [...(hintsTaken.get(hint.clue_id) ?? []), hint.cost]);
		return {
			id: row.id,
			huntId: row.hunt_id,
			playerId: row.player_id,
			state: row.state,
			score: row.score,
			startedAt: row.started_at,
			completedAt: row.completed_at,
			closesAt: row.closes_at,
			closedBy: row.closed_by,
			version: row.version,
			history: row.fix_history,
			flagTimes: row.flag_times,
			discoveries: new Map(discoveries.rows.map(d => [d.clue_id, { discoveredAt: d.discovered_at, solvedAt: d.solved_at }])),
			hintsTaken,
		};
	}

	/** Locks the participation's row until `tx` ends; its version, or undefined when there is none. */
	async lockRow(tx: SqlExecutor, id: string): Promise<number | undefined> {
		const found = await tx.query<{ version: number }>(`select version from ${this.participations} where id = $1 for update`, [id]);
		return found.rows[0]?.version;
	}

	/**
	 * What operators watch of a running hunt; `now` is the server's clock. Reports that changed
	 * nothing are not in the rows: `cachedReports` (participation id → epoch ms) has the newer ones.
	 */
	async liveState(huntId: string, now: Date, cachedReports: ReadonlyMap<string, number>): Promise<HuntLiveState> {
		const [states, active, discoveries] = await Promise.all([
			this.db.query<{ state: ParticipationState; n: number }>(`select state, count(*)::int as n from ${this.participations} where hunt_id = $1 group by state`, [huntId]),
			this.db.query<{ id: string; last_report_at: Date | null }>(`select id, last_report_at from ${this.participations} where hunt_id = $1 and state = 'active'`, [huntId]),
			this.db.query<{ clue_id: string; n: number }>(
				`select d.clue_id, count(*)::int as n from ${this.discoveries} d join ${this.participations} p on p.id = d.participation_id where p.hunt_id = $1 group by d.clue_id`,
				[huntId],
			),
		]);
		const byState: Record<ParticipationState, number> = { active: 0, completed: 0, suspended: 0, disqualified: 0 };
		for (const row of states.rows) byState[row.state] = row.n;
		const sorted: number[] = [];
		for (const row of active.rows) {
			const last = Math.max(row.last_report_at?.getTime() ?? -Infinity, cachedReports.get(row.id) ?? -Infinity);
			if (last > -Infinity) sorted.push(Math.max(0, Math.round((now.getTime() - last) / 1000)));
		}
		sorted.sort((a, b) => a - b);
		return {
			byState,
			reportingNow: sorted.filter(age => age <= 300).length,
			lastReportAgeSeconds: sorted.length ? { newest: sorted[0], median: sorted[Math.floor(sorted.length / 2)], oldest: sorted[sorted.length - 1] } : null,
			discoveriesByClue: new Map(discoveries.rows.map(row => [row.clue_id, row.n])),
		};
	}

	/** Every participation of a hunt as leaderboards rank it. */
	async standingsOf(huntId: string): Promise<Array<{ participationId: string; playerId: string; state: ParticipationState; score: number; completedAt: Date | null; version: number }>> {
		const found = await this.db.query<{ id: string; player_id: string; state: ParticipationState; score: number; completed_at: Date | null; version: number }>(
			`select id, player_id, state, score, completed_at, version from ${this.participations} where hunt_id = $1 order by id`,
			[huntId],
		);
		return found.rows.map(row => ({ participationId: row.id, playerId: row.player_id, state: row.state, score: row.score, completedAt: row.completed_at, version: row.version }));
	}

	/**
	 * Where one player stands in a hunt, counted here rather than by sending every participation to
	 * the caller: their participation, how many finished before them (earlier finish, the same
	 * instant by participation id) and how many rank above them (higher score, then an earlier finish
	 * in whole seconds, a finisher before one who did not), disqualified players counting in neither.
	 * The definitions are domain/rewards/eligibility.ts's `standingAmong`, which the spec holds this to.
	 */
	async standingOf(
		huntId: string,
		playerId: string,
	): Promise<{ mine: { participationId: string; playerId: string; state: ParticipationState; score: number; completedAt: Date | null }; finishedAhead: number; rankedAhead: number } | undefined> {
		const found = await this.db.query<{ id: string; state: ParticipationState; score: number; completed_at: Date | null; finished_ahead: number; ranked_ahead: number }>(
			`with mine as (select id, state, score, completed_at from ${this.participations} where hunt_id = $1 and player_id = $2),
			 others as (select id, state, score, completed_at from ${this.participations} where hunt_id = $1 and player_id <> $2 and state <> 'disqualified')
			 select m.id, m.state, m.score, m.completed_at,
				case when m.state = 'completed' and m.completed_at is not null then
					(select count(*)::int from others o where o.state = 'completed' and o.completed_at is not null
						and (o.completed_at < m.completed_at or (o.completed_at = m.completed_at and o.id < m.id)))
				else 0 end as finished_ahead,
				(select count(*)::int from others o where o.score > m.score or (o.score = m.score and
					coalesce(floor(extract(epoch from o.completed_at)), 'Infinity'::float8) < coalesce(floor(extract(epoch from m.completed_at)), 'Infinity'::float8))) as ranked_ahead
			 from mine m`,
			[huntId, playerId],
		);
		const row = found.rows[0];
		if (!row) return undefined;
		return {
			mine: { participationId: row.id, playerId, state: row.state, score: row.score, completedAt: row.completed_at },
			finishedAhead: row.finished_ahead,
			rankedAhead: row.ranked_ahead,
		};
	}

	/** Participations in `state`, the longest waiting first: the admins' review queue. */
	async idsInState(state: ParticipationState, limit: number): Promise<string[]> {
		const found = await this.db.query<{ id: string }>(
			`select p.id from ${this.participations} p
			 left join lateral (select max(raised_at) as last_flag from ${this.flags} f where f.participation_id = p.id) f on true
			 where p.state = $1 order by f.last_flag nulls first, p.id limit $2`,
			[state, limit],
		);
		return found.rows.map(row => row.id);
	}

	async flagsOf(db: SqlExecutor, id: string): Promise<Array<{ code: Flag["code"]; evidence: Flag["evidence"]; raisedAt: Date }>> {
		const found = await db.query<{ code: Flag["code"]; evidence: Flag["evidence"]; raised_at: Date }>(
			`select code, evidence, raised_at from ${this.flags} where participation_id = $1 order by raised_at, id`,
			[id],
		);
		return found.rows.map(row => ({ code: row.code, evidence: row.evidence, raisedAt: row.raised_at }));
	}

	/** When this participation answered `clueId` wrong (epoch ms). */
	async wrongAnswerTimes(db: SqlExecutor, id: string, clueId: string): Promise<number[]> {
		const found = await db.query<{ answered_at: Date }>(`select answered_at from ${this.wrongAnswers} where participation_id = $1 and clue_id = $2 order by answered_at`, [id, clueId]);
		return found.rows.map(row => row.answered_at.getTime());
	}

	/**
	 * The fix history alone, when nothing else changed — only on clusters without a shared cache,
	 * where the database is the one place nodes agree on. Written only over `version` (resolves
	 * false when another change came first: decide again on what it left).
	 */
	async keepHistory(id: string, version: number, history: FixHistory, now: Date): Promise<boolean> {
		const updated = await this.db.query(`update ${this.participations} set fix_history = $3::text::jsonb, last_report_at = $4, version = version + 1 where id = $1 and version = $2`, [
			id,
			version,
			JSON.stringify(history),
			now,
		]);
		return updated.rowCount === 1;
	}

	/**
	 * Active participations whose time is up (the player's limit or the hunt's end), closed, at most
	 * `limit` per call. Rows another node is closing are skipped, not waited for.
	 */
	async closeDue(tx: SqlExecutor, now: Date, limit: number): Promise<Array<{ id: string; huntId: string; playerId: string; score: number; closedBy: ClosedBy; version: number; startedAt: Date }>> {
		const closed = await tx.query<{ id: string; hunt_id: string; player_id: string; score: number; closed_by: ClosedBy; version: number; started_at: Date }>(
			`update ${this.participations} p set state = 'completed', closed_by = p.closes_by, version = p.version + 1
			 from (select id from ${this.participations} where state = 'active' and closes_at <= $1 order by closes_at limit $2 for update skip locked) due
			 where p.id = due.id
			 returning p.id, p.hunt_id, p.player_id, p.score, p.closed_by, p.version, p.started_at`,
			[now, limit],
		);
		return closed.rows.map(row => ({
			id: row.id,
			huntId: row.hunt_id,
			playerId: row.player_id,
			score: row.score,
			closedBy: row.closed_by,
			version: row.version,
			startedAt: new Date(row.started_at),
		}));
	}

	async apply(tx: SqlExecutor, id: string, changes: ParticipationChanges, now: Date): Promise<void> {
		const sets: string[] = ["version = version + 1"];
		const params: unknown[] = [id];
		const set = (column: string, value: unknown, cast = "") => {
			params.push(value);
			sets.push(`${column} = $${params.length}${cast}`);
		};
		if (changes.state) set("state", changes.state);
		if (changes.score !== undefined) set("score", changes.score);
		if (changes.completedAt) set("completed_at", changes.completedAt);
		if (changes.closedBy) set("closed_by", changes.closedBy);
		// Bound as JSON text: pg would send a JS array as a Postgres array.
		if (changes.history) set("fix_history", JSON.stringify(changes.history), "::text::jsonb");
		if (changes.flagTimes) set("flag_times", JSON.stringify(changes.flagTimes), "::text::jsonb");
		if (changes.reported) set("last_report_at", now);
		await tx.query(`update ${this.participations} set ${sets.join(", ")} where id = $1`, params);
		for (const clueId of changes.discovered ?? []) {
			await tx.query(`insert into ${this.discoveries} (participation_id, clue_id, discovered_at) values ($1, $2, $3) on conflict do nothing`, [id, clueId, now]);
		}
		if (changes.solved) await tx.query(`update ${this.discoveries} set solved_at = $3 where participation_id = $1 and clue_id = $2 and solved_at is null`, [id, changes.solved, now]);
		for (const flag of changes.flags ?? []) {
			await tx.query(`insert into ${this.flags} (id, participation_id, code, evidence, raised_at) values ($1, $2, $3, $4::text::jsonb, $5)`, [
				randomUUID(),
				id,
				flag.code,
				JSON.stringify(flag.evidence),
				now,
			]);
		}
		if (changes.wrongAnswer) await tx.query(`insert into ${this.wrongAnswers} (participation_id, clue_id, answered_at) values ($1, $2, $3)`, [id, changes.wrongAnswer, now]);
		if (changes.hint)
			await tx.query(`insert into ${this.hints} (participation_id, clue_id, seq, cost, taken_at) values ($1, $2, $3, $4, $5)`, [id, changes.hint.clueId, changes.hint.seq, changes.hint.cost, now]);
	}
}
