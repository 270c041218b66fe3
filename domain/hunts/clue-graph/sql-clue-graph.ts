/**
 * The clue graph in the hunts service's own SQL schema: two tables, and recursive queries for the
 * walks. `union` (not `union all`) in each walk keeps it finite on a graph with cycles.
 */
import type { SqlClient } from "../../../platform/sql";
import { graphProblems, type ClueGraph, type CluePath, type GraphProblem } from "./clue-graph";

export const CLUE_GRAPH_MIGRATION_SQL = `
	create table graph_clues (hunt_id uuid not null, clue_id uuid not null, primary key (hunt_id, clue_id));
	create table graph_paths (hunt_id uuid not null, from_id uuid not null, to_id uuid not null, primary key (hunt_id, from_id, to_id));
	create index graph_paths_to on graph_paths (hunt_id, to_id);
`;

export class SqlClueGraph implements ClueGraph {
	private readonly clues: string;
	private readonly paths: string;

	constructor(
		private readonly db: SqlClient,
		schema: string,
	) {
		this.clues = `"${schema}".graph_clues`;
		this.paths = `"${schema}".graph_paths`;
	}

	async replace(huntId: string, clueIds: readonly string[], paths: readonly CluePath[]): Promise<void> {
		await this.db.transaction(async tx => {
			await tx.query(`delete from ${this.paths} where hunt_id = $1`, [huntId]);
			await tx.query(`delete from ${this.clues} where hunt_id = $1`, [huntId]);
			if (clueIds.length) {
				await tx.query(`insert into ${this.clues} (hunt_id, clue_id) select $1::uuid, id::uuid from jsonb_array_elements_text($2::text::jsonb) as id on conflict do nothing`, [
					huntId,
					JSON.stringify(clueIds),
				]);
			}
			if (paths.length) {
				await tx.query(
					`insert into ${this.paths} (hunt_id, from_id, to_id) select $1::uuid, (p->>'from')::uuid, (p->>'to')::uuid from jsonb_array_elements($2::text::jsonb) as p on conflict do nothing`,
					[huntId, JSON.stringify(paths.map(({ from, to }) => ({ from, to })))],
				);
			}
		});
	}

	async remove(huntId: string): Promise<void> {
		await this.replace(huntId, [], []);
	}

	private async ids(text: string, params: readonly unknown[]): Promise<string[]> {
		return (await this.db.query<{ id: string }>(text, params)).rows.map(row => row.id);
	}

	starts(huntId: string): Promise<string[]> {
		return this.ids(`select c.clue_id as id from ${this.clues} c where c.hunt_id = $1 and not exists (select 1 from ${this.paths} p where p.hunt_id = $1 and p.to_id = c.clue_id) order by 1`, [
			huntId,
		]);
	}

	finishes(huntId: string): Promise<string[]> {
		return this.ids(`select c.clue_id as id from ${this.clues} c where c.hunt_id = $1 and not exists (select 1 from ${this.paths} p where p.hunt_id = $1 and p.from_id = c.clue_id) order by 1`, [
			huntId,
		]);
	}

	async problems(huntId: string): Promise<GraphProblem[]> {
		const [count, starts, finishes, onCycles, unreachable] = await Promise.all([
			this.db.query<{ n: number }>(`select count(*)::int as n from ${this.clues} where hunt_id = $1`, [huntId]).then(result => result.rows[0].n),
			this.starts(huntId),
			this.finishes(huntId),
			// A clue is on a cycle when a walk from it comes back to it.
			this.ids(
				`with recursive walk(origin, id) as (
					select from_id, to_id from ${this.paths} where hunt_id = $1
					union
					select w.origin, p.to_id from walk w join ${this.paths} p on p.hunt_id = $1 and p.from_id = w.id
				) select distinct origin as id from walk where origin = id order by 1`,
				[huntId],
			),
			this.ids(
				`with recursive reached(id) as (
					select c.clue_id from ${this.clues} c where c.hunt_id = $1 and not exists (select 1 from ${this.paths} p where p.hunt_id = $1 and p.to_id = c.clue_id)
					union
					select p.to_id from reached r join ${this.paths} p on p.hunt_id = $1 and p.from_id = r.id
				) select c.clue_id as id from ${this.clues} c where c.hunt_id = $1 and c.clue_id not in (select id from reached) order by 1`,
				[huntId],
			),
		]);
		return graphProblems(count, starts, finishes, onCycles, unreachable);
	}

	openedBy(huntId: string, solved: readonly string[]): Promise<string[]> {
		return this.ids(
			`with solved as (select id::uuid as id from jsonb_array_elements_text($2::text::jsonb) as id)
			select c.clue_id as id from ${this.clues} c
			where c.hunt_id = $1 and c.clue_id not in (select id from solved)
				and (not exists (select 1 from ${this.paths} p where p.hunt_id = $1 and p.to_id = c.clue_id)
					or exists (select 1 from ${this.paths} p where p.hunt_id = $1 and p.to_id = c.clue_id and p.from_id in (select id from solved)))
			order by 1`,
			[huntId, JSON.stringify(solved)],
		);
	}

	reachableFrom(huntId: string, clueId: string): Promise<string[]> {
		return this.ids(
			`with recursive reached(id) as (
				select to_id from ${this.paths} where hunt_id = $1 and from_id = $2::uuid
				union
				select p.to_id from reached r join ${this.paths} p on p.hunt_id = $1 and p.from_id = r.id
			) select id from reached order by 1`,
			[huntId, clueId],
		);
	}

	async shortestPathLength(huntId: string, from: string, to: string): Promise<number | null> {
		if (from === to) {
			const known = await this.db.query(`select 1 from ${this.clues} where hunt_id = $1 and clue_id = $2::uuid`, [huntId, from]);
			return known.rows.length ? 0 : null;
		}
		// Breadth first: each clue is kept at the first depth it is reached, so the walk stops by itself.
		const result = await this.db.query<{ depth: number | null }>(
			`with recursive bfs(id, depth) as (
				select $2::uuid, 0
				union
				select p.to_id, b.depth + 1 from bfs b join ${this.paths} p on p.hunt_id = $1 and p.from_id = b.id
				where b.depth < (select count(*) from ${this.clues} where hunt_id = $1)
			) select min(depth)::int as depth from bfs where id = $3::uuid`,
			[huntId, from, to],
		);
		return result.rows[0]?.depth ?? null;
	}

	async close(): Promise<void> {
		// The client belongs to the service.
	}
}
