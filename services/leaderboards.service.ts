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
import { isAppError, notFound } from "../platform/errors/app-error";
import { call } from "../platform/moleculer/contract-calls";
import { defineService } from "../platform/moleculer/define-service";
import { callAsService } from "../platform/moleculer/service-identity";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import type { ServiceDeps } from "./deps";

/** Shown for a player who deleted their account since. */
const FORMER_PLAYER = "(former player)";

/** How long a hunt's "may its board be shown" is kept without a visibility broadcast saying otherwise. */
const SHOWN_TTL_MS = 30_000;

export function createLeaderboardsService({ backends }: ServiceDeps) {
	let boards!: Leaderboards;
	const shownHunts = new Map<string, { shown: Promise<boolean>; at: number }>();

	/** Whether anyone may see the hunt's board, from its playbook (kept a while: boards are polled). */
	const shown = (ctx: Context, huntId: string): Promise<boolean> => {
		const kept = shownHunts.get(huntId);
		if (kept && Date.now() - kept.at < SHOWN_TTL_MS) return kept.shown;
		const answer = callAsService(ctx.broker, "leaderboards", "hunts.playbook", { id: huntId }, ctx).then(
			hunt => !hunt.partnerSuspended,
			err => (isAppError(err, "NOT_FOUND") ? false : Promise.reject(err)),
		);
		// Bounded like any per-request cache: ids come from clients.
		if (shownHunts.size >= 10_000) shownHunts.clear();
		shownHunts.set(huntId, { shown: answer, at: Date.now() });
		answer.catch(() => shownHunts.delete(huntId));
		return answer;
	};

	return defineService(leaderboardsContract, {
		mixins: [AccessControlMixin()],
		settings: { rest: "/" },

		actions: {
			get: {
				rest: "GET /hunts/:id/leaderboard",
				access: "public",
				openapi: { summary: "A hunt's live ranking: by score, then by finish time", tags: ["play"] },
				async handler(ctx) {
					const huntId = ctx.params.id.toLowerCase();
					// Only a hunt players may see has a board anyone may see: none for a draft, one taken down
					// or one hidden while its partner is suspended (an archived hunt keeps its final ranking).
					if (!(await shown(ctx, huntId))) throw notFound("Hunt");
					const ranked = await boards.top(huntId, ctx.params.limit);
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
					return { huntId: ctx.params.huntId, ranked: await boards.rebuild(ctx.params.huntId.toLowerCase(), items) };
				},
			},
		},

		events: {
			"hunt.visibility.changed"(ctx) {
				shownHunts.delete((ctx.params as { huntId: string }).huntId);
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
