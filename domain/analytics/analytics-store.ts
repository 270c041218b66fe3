/**
 * The analytics service's projection of play: its own tables, fed by the gameplay service's
 * progress steps (progress-effects.ts says what each means) and rebuilt from its records.
 *
 * Every fact has its natural key (a participation's discovery of a clue, a hint or a wrong answer
 * at its moment), so a step recorded twice — a redelivery, or a rebuild overlapping live steps —
 * is recorded once. Counts are taken by query over one row per participation, never kept as
 * counters a repeated or reordered step would skew. One limit of the keys: two hints, or two wrong
 * answers, on one clue by one player in the same millisecond count once.
 */
import type { Migration, SqlClient, SqlExecutor } from "../../platform/sql";
import type { ClueFacts, HuntCounts } from "./hunt-report";
import type { ProgressEffects } from "./progress-effects";

export const ANALYTICS_MIGRATIONS: readonly Migration[] = [
	{
		version: 1,
		name: "participations, discoveries, hints and wrong answers per hunt",
		up: `
			create table participations (
				participation_id uuid primary key,
				hunt_id uuid not null,
				player_id uuid not null,
				started_at timestamptz not null,
				state text not null check (state in ('active', 'completed', 'suspended', 'disqualified')),
				-- When the state was reached, and its weight among states reached in the same millisecond.
				state_at timestamptz not null,
				state_rank smallint not null,
				finished_at timestamptz,
				closed_by text check (closed_by in ('time_limit', 'hunt_end')),
				flagged boolean not null default false
			);
			create index participations_hunt on participations (hunt_id);

			create table discoveries (
				participation_id uuid not null,
				clue_id uuid not null,
				hunt_id uuid not null,
				discovered_at timestamptz not null,
				ms_from_start bigint not null,
				primary key (participation_id, clue_id)
			);
			create index discoveries_hunt on discoveries (hunt_id);

			create table hints (
				participation_id uuid not null,
				clue_id uuid not null,
				taken_at timestamptz not null,
				hunt_id uuid not null,
				primary key (participation_id, clue_id, taken_at)
			);
			create index hints_hunt on hints (hunt_id);

			create table wrong_answers (
				participation_id uuid not null,
				clue_id uuid not null,
				answered_at timestamptz not null,
				hunt_id uuid not null,
				primary key (participation_id, clue_id, answered_at)
			);
			create index wrong_answers_hunt on wrong_answers (hunt_id);
		`,
	},
];

/** The tables a hunt's facts live in, each with a hunt_id column. */
const HUNT_TABLES = ["participations", "discoveries", "hints", "wrong_answers"] as const;

export class AnalyticsStore {
	private readonly table: (name: (typeof HUNT_TABLES)[number]) => string;

	constructor(
		readonly db: SqlClient,
		schema: string,
	) {
		this.table = name => `"${schema}".${name}`;
	}

	/** Records a step's effects in `tx` (the transaction that records its message id). */
	async record(tx: SqlExecutor, effects: ProgressEffects): Promise<void> {
		const { participationId, huntId } = effects;
		const startedAt = new Date(effects.startedAt);
		// Whichever step arrives first makes the row: every step says when the player joined.
		await tx.query(
			`insert into ${this.table("participations")} (participation_id, hunt_id, player_id, started_at, state, state_at, state_rank)
			 values ($1, $2, $3, $4, 'active', $4, 0) on conflict (participation_id) do nothing`,
			[participationId, huntId, effects.playerId, startedAt],
		);
		const { state } = effects;
		if (state) {
			// The row comparison is supersedes() (progress-effects.ts) in SQL, decided under the row's lock.
			await tx.query(
				`update ${this.table("participations")} set state = $2, state_at = $3, state_rank = $4
				 where participation_id = $1 and (state_at, state_rank) < ($3::timestamptz, $4::smallint)`,
				[participationId, state.state, new Date(state.at), state.rank],
			);
		}
		if (effects.finishedAt !== undefined || effects.closedBy || effects.flagged) {
			await tx.query(
				`update ${this.table("participations")} set
				   finished_at = coalesce(finished_at, $2), closed_by = coalesce(closed_by, $3), flagged = flagged or $4
				 where participation_id = $1`,
				[participationId, effects.finishedAt === undefined ? null : new Date(effects.finishedAt), effects.closedBy ?? null, effects.flagged === true],
			);
		}
		if (effects.discovery) {
			const { clueId, at, msFromStart } = effects.discovery;
			await tx.query(`insert into ${this.table("discoveries")} (participation_id, clue_id, hunt_id, discovered_at, ms_from_start) values ($1, $2, $3, $4, $5) on conflict do nothing`, [
				participationId,
				clueId,
				huntId,
				new Date(at),
				msFromStart,
			]);
		}
		if (effects.hint) {
			await tx.query(`insert into ${this.table("hints")} (participation_id, clue_id, taken_at, hunt_id) values ($1, $2, $3, $4) on conflict do nothing`, [
				participationId,
				effects.hint.clueId,
				new Date(effects.hint.at),
				huntId,
			]);
		}
		if (effects.wrongAnswer) {
			await tx.query(`insert into ${this.table("wrong_answers")} (participation_id, clue_id, answered_at, hunt_id) values ($1, $2, $3, $4) on conflict do nothing`, [
				participationId,
				effects.wrongAnswer.clueId,
				new Date(effects.wrongAnswer.at),
				huntId,
			]);
		}
	}

	/** Records many steps in one transaction (a rebuild's page). */
	recordAll(steps: readonly ProgressEffects[]): Promise<void> {
		return this.db.transaction(async tx => {
			for (const effects of steps) await this.record(tx, effects);
		});
	}

	/** Wipes a hunt's facts, before it is rebuilt. */
	forget(huntId: string): Promise<void> {
		return this.db.transaction(async tx => {
			for (const name of HUNT_TABLES) await tx.query(`delete from ${this.table(name)} where hunt_id = $1`, [huntId]);
		});
	}

	/** The counts and per-clue facts of a hunt, as hunt-report.ts turns them into its report. */
	async facts(huntId: string): Promise<{ counts: HuntCounts; clues: Map<string, ClueFacts> }> {
		const [counts, discoveries, hints, wrong] = await Promise.all([
			this.db.query<HuntCounts>(
				`select count(*)::int as joined,
				        count(*) filter (where state = 'active')::int as active,
				        count(*) filter (where finished_at is not null)::int as completed,
				        count(*) filter (where flagged)::int as flagged
				 from ${this.table("participations")} where hunt_id = $1`,
				[huntId],
			),
			this.db.query<{ clue_id: string; ms: number }>(`select clue_id, ms_from_start::float8 as ms from ${this.table("discoveries")} where hunt_id = $1`, [huntId]),
			this.db.query<{ clue_id: string; n: number }>(`select clue_id, count(*)::int as n from ${this.table("hints")} where hunt_id = $1 group by clue_id`, [huntId]),
			this.db.query<{ clue_id: string; n: number }>(`select clue_id, count(*)::int as n from ${this.table("wrong_answers")} where hunt_id = $1 group by clue_id`, [huntId]),
		]);
		const clues = new Map<string, { msToDiscover: number[]; hintsUsed: number; wrongAnswers: number }>();
		const of = (clueId: string) => {
			let facts = clues.get(clueId);
			if (!facts) clues.set(clueId, (facts = { msToDiscover: [], hintsUsed: 0, wrongAnswers: 0 }));
			return facts;
		};
		for (const row of discoveries.rows) of(row.clue_id).msToDiscover.push(row.ms);
		for (const row of hints.rows) of(row.clue_id).hintsUsed = row.n;
		for (const row of wrong.rows) of(row.clue_id).wrongAnswers = row.n;
		return { counts: counts.rows[0], clues };
	}
}
