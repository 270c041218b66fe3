/**
 * Where a player stands in a hunt, counted in SQL (PlayStore.standingOf), held to the rule's own
 * definition (domain/rewards/eligibility.ts standingAmong) on seeded random hunts with ties of
 * score, of finish second and of finish instant, every state, and players who did not finish: on
 * PGlite and PostgreSQL.
 */
import { randomUUID } from "node:crypto";
import { standingAmong, type RankedParticipation } from "../rewards/eligibility";
import { onEverySqlEngine, useMigratedSchema } from "../../test/support/sql";
import { seededRandom } from "../../test/support/seeded-random";
import { GAMEPLAY_MIGRATIONS, PlayStore } from "./play-store";

const STATES = ["active", "completed", "completed", "completed", "suspended", "disqualified"] as const;
const T0 = Date.parse("2026-06-01T10:00:00.000Z");

onEverySqlEngine((engine, open) => {
	describe(`a player's standing on ${engine}`, () => {
		const db = useMigratedSchema(open, "gameplay", GAMEPLAY_MIGRATIONS);

		it("counts who finished before and who ranks above each player exactly as the reward rules define it, on 40 random hunts", async () => {
			const store = new PlayStore(db.client, db.schema);
			const random = seededRandom(20261202);
			const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
			let compared = 0;
			for (let hunt = 0; hunt < 40; hunt++) {
				const huntId = randomUUID();
				const field: RankedParticipation[] = Array.from({ length: 2 + Math.floor(random() * 12) }, () => {
					const state = pick(STATES);
					// Few distinct scores and finish times: ties are the point. Some finishes share a second, some an instant.
					const finishedAt = T0 + Math.floor(random() * 4) * 1000 + (random() < 0.5 ? 0 : Math.floor(random() * 3) * 250);
					const finished = state !== "active" && random() < 0.8;
					return { participationId: randomUUID(), playerId: randomUUID(), state, score: pick([0, 10, 10, 20]), completedAt: finished ? new Date(finishedAt).toISOString() : null };
				});
				await db.client.transaction(async tx => {
					for (const p of field) {
						await tx.query(`insert into "${db.schema}".participations (id, hunt_id, player_id, state, score, started_at, completed_at) values ($1, $2, $3, $4, $5, $6, $7)`, [
							p.participationId,
							huntId,
							p.playerId,
							p.state,
							p.score,
							new Date(T0 - 3600_000),
							p.completedAt,
						]);
					}
				});
				for (const p of field) {
					const counted = await store.standingOf(huntId, p.playerId);
					const expected = standingAmong(field, p.playerId)!;
					expect({ ...counted, mine: { ...counted!.mine, completedAt: counted!.mine.completedAt?.toISOString() ?? null } }).toEqual(expected);
					compared++;
				}
				expect(await store.standingOf(huntId, randomUUID())).toBeUndefined();
			}
			expect(compared).toBeGreaterThan(200);
		}, 60_000);
	});
});
