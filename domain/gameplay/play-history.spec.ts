/**
 * A hunt's play told again from the gameplay tables, on PGlite and PostgreSQL: every kept moment
 * comes back as the step that was sent, in order; the state each participation ended in is told at
 * the latest moment the tables vouch for; pages cover every participation once.
 */
import { randomUUID } from "node:crypto";
import type { ProgressMessage } from "../../contracts/gameplay";
import type { SqlExecutor } from "../../platform/sql";
import { onEverySqlEngine, useMigratedSchema } from "../../test/support/sql";
import { PlayHistory } from "./play-history";
import { GAMEPLAY_MIGRATIONS } from "./play-store";

const T0 = Date.parse("2026-06-01T10:00:00.000Z");
const at = (minute: number) => new Date(T0 + minute * 60_000);
const iso = (minute: number) => at(minute).toISOString();

onEverySqlEngine((engine, open) => {
	describe(`play history on ${engine}`, () => {
		const db = useMigratedSchema(open, "gameplay", GAMEPLAY_MIGRATIONS);
		const t = (name: string) => `"${db.schema}".${name}`;
		const huntId = randomUUID();
		const [hill, bridge] = [randomUUID(), randomUUID()];
		const ids = { finisher: randomUUID(), cheat: randomUUID(), late: randomUUID(), suspended: randomUUID() };
		const players = { finisher: randomUUID(), cheat: randomUUID(), late: randomUUID(), suspended: randomUUID() };
		let history: PlayHistory;

		const participation = (tx: SqlExecutor, id: string, playerId: string, state: string, score: number, extra: { completedAt?: Date; closesAt?: Date; closedBy?: string; hunt?: string } = {}) =>
			tx.query(`insert into ${t("participations")} (id, hunt_id, player_id, state, score, started_at, completed_at, closes_at, closed_by) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
				id,
				extra.hunt ?? huntId,
				playerId,
				state,
				score,
				at(0),
				extra.completedAt ?? null,
				extra.closesAt ?? null,
				extra.closedBy ?? null,
			]);
		const flag = (tx: SqlExecutor, id: string, code: string, minute: number) =>
			tx.query(`insert into ${t("flags")} (id, participation_id, code, evidence, raised_at) values ($1, $2, $3, '{}', $4)`, [randomUUID(), id, code, at(minute)]);

		beforeAll(async () => {
			history = new PlayHistory(db.client, db.schema);
			await db.client.transaction(async tx => {
				await participation(tx, ids.finisher, players.finisher, "completed", 56, { completedAt: at(20), closesAt: at(240), closedBy: undefined });
				await tx.query(`insert into ${t("discoveries")} (participation_id, clue_id, discovered_at, solved_at) values ($1, $2, $3, $4), ($1, $5, $6, null)`, [
					ids.finisher,
					hill,
					at(10),
					at(14),
					bridge,
					at(20),
				]);
				await tx.query(`insert into ${t("hints_taken")} (participation_id, clue_id, seq, cost, taken_at) values ($1, $2, 0, 4, $3)`, [ids.finisher, hill, at(11)]);
				await tx.query(`insert into ${t("wrong_answers")} (participation_id, clue_id, answered_at) values ($1, $2, $3), ($1, $2, $4)`, [ids.finisher, hill, at(12), at(13)]);

				await participation(tx, ids.cheat, players.cheat, "disqualified", 0);
				await flag(tx, ids.cheat, "IMPOSSIBLE_SPEED", 3);
				await flag(tx, ids.cheat, "FUTURE_TIMESTAMP", 3);
				await flag(tx, ids.cheat, "REPLAYED_FIX", 5);

				await participation(tx, ids.suspended, players.suspended, "suspended", 0);
				await flag(tx, ids.suspended, "REPLAYED_FIX", 7);

				await participation(tx, ids.late, players.late, "completed", 10, { closesAt: at(240), closedBy: "time_limit" });
				// Another hunt's player, who must not show.
				await participation(tx, randomUUID(), randomUUID(), "active", 0, { hunt: randomUUID() });
			});
		});

		const names = { huntTitle: "Lyon trail", clueTitles: new Map([[hill, "Hill"]]) };
		const stepsOf = (items: ProgressMessage[], id: string) =>
			items.filter(step => step.participationId === id).map(({ participationId: _p, huntId: _h, playerId: _pl, startedAt: _s, huntTitle: _t, ...step }) => step);

		it("tells each participation's steps at their moments, in the order they were sent, with the score now", async () => {
			const { items, next } = await history.page(huntId, undefined, 10, names);
			expect(next).toBeUndefined();
			expect(new Set(items.map(step => step.participationId))).toEqual(new Set(Object.values(ids)));
			for (const step of items) expect(step).toMatchObject({ huntId, huntTitle: "Lyon trail", startedAt: iso(0) });
			expect(stepsOf(items, ids.finisher)).toEqual([
				{ kind: "joined", at: iso(0), score: 56 },
				{ kind: "discovered", at: iso(10), score: 56, clueId: hill, clueTitle: "Hill" },
				{ kind: "hint_taken", at: iso(11), score: 56, clueId: hill, clueTitle: "Hill" },
				{ kind: "answered", at: iso(12), score: 56, clueId: hill, clueTitle: "Hill", correct: false },
				{ kind: "answered", at: iso(13), score: 56, clueId: hill, clueTitle: "Hill", correct: false },
				{ kind: "answered", at: iso(14), score: 56, clueId: hill, clueTitle: "Hill", correct: true },
				// Found and finished in one report: the discovery is told first.
				{ kind: "discovered", at: iso(20), score: 56, clueId: bridge },
				{ kind: "completed", at: iso(20), score: 56 },
			]);
			expect(items.find(step => step.participationId === ids.finisher)!.playerId).toBe(players.finisher);
		});

		it("tells one flagged step per flagged fix, and a suspension and disqualification at the last flag", async () => {
			const { items } = await history.page(huntId, undefined, 10, names);
			const cheat = stepsOf(items, ids.cheat);
			expect(cheat.map(step => [step.kind, step.at])).toEqual([
				["joined", iso(0)],
				["flagged", iso(3)],
				["flagged", iso(5)],
				["suspended", iso(5)],
				["disqualified", iso(5)],
			]);
			expect([...cheat[1].flags!].sort()).toEqual(["FUTURE_TIMESTAMP", "IMPOSSIBLE_SPEED"]);
			expect(cheat[2].flags).toEqual(["REPLAYED_FIX"]);
			expect(stepsOf(items, ids.suspended).map(step => [step.kind, step.at])).toEqual([
				["joined", iso(0)],
				["flagged", iso(7)],
				["suspended", iso(7)],
			]);
		});

		it("tells a closing by time when it fell due, and why", async () => {
			const { items } = await history.page(huntId, undefined, 10, names);
			expect(stepsOf(items, ids.late)).toEqual([
				{ kind: "joined", at: iso(0), score: 10 },
				{ kind: "closed", at: iso(240), score: 10, closedBy: "time_limit" },
			]);
		});

		it("pages through every participation once, in id order", async () => {
			const seen: string[] = [];
			let after: string | undefined;
			let pages = 0;
			do {
				const page = await history.page(huntId, after, 1, names);
				seen.push(...new Set(page.items.map(step => step.participationId)));
				after = page.next;
				pages++;
			} while (after !== undefined);
			expect(seen).toEqual(Object.values(ids).sort());
			// The last full page cannot know it is the last: one empty page ends the walk.
			expect(pages).toBe(5);
			expect(await history.page(randomUUID(), undefined, 10, names)).toEqual({ items: [] });
		});
	});
});
