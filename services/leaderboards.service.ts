/**
 * Live leaderboards per hunt (domain/leaderboards/leaderboard.ts): the shared store's sorted sets,
 * in memory on one node and on Redis with STORE_URL, fed by the gameplay service's durable
 * `gameplay.standings` channel and rebuilt from its participations on demand (REPL: `leaderboard
 * rebuild <huntId>`).
 */
import type { Context } from "moleculer";
import { STANDINGS_CHANNEL } from "../contracts/gameplay";
import { leaderboardsContract } from "../contracts/leaderboards";
import { Leaderboards, type Standing } from "../domain/leaderboards/leaderboard";
import { call } from "../platform/moleculer/contract-calls";
import { defineService } from "../platform/moleculer/define-service";
import { callAsService } from "../platform/moleculer/service-identity";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import type { ServiceDeps } from "./deps";

/** Shown for a player who deleted their account since. */
const FORMER_PLAYER = "(former player)";

export function createLeaderboardsService({ backends }: ServiceDeps) {
	let boards!: Leaderboards;

	return defineService(leaderboardsContract, {
		mixins: [AccessControlMixin()],
		settings: { rest: "/" },

		actions: {
			get: {
				rest: "GET /hunts/:id/leaderboard",
				access: "public",
				openapi: { summary: "A hunt's live ranking: by score, then by finish time", tags: ["play"] },
				async handler(ctx) {
					const ranked = await boards.top(ctx.params.id, ctx.params.limit);
					const names = await Promise.all(
						ranked.map(player =>
							call(ctx, "users.publicProfile", { id: player.playerId }).then(
								profile => profile.displayName,
								() => FORMER_PLAYER,
							),
						),
					);
					return { items: ranked.map((player, index) => ({ ...player, displayName: names[index] })) };
				},
			},

			rebuild: {
				// The REPL's `leaderboard rebuild <huntId>`: after a store was lost, or to check one.
				access: "admin",
				async handler(ctx) {
					const { items } = await callAsService(ctx.broker, "leaderboards", "gameplay.standings", { huntId: ctx.params.huntId }, ctx);
					return { huntId: ctx.params.huntId, ranked: await boards.rebuild(ctx.params.huntId, items) };
				},
			},
		},

		channels: {
			[STANDINGS_CHANNEL]: {
				group: "leaderboards",
				// Setting a player's standing twice sets it once: a redelivery changes nothing.
				async handler(ctx: Context<Standing>) {
					await boards.apply(ctx.params);
				},
			},
		},

		started() {
			boards = new Leaderboards(backends.keyValueStore());
		},
	});
}
