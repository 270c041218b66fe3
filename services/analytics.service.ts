/**
 * Partner analytics per hunt (domain/analytics/): a projection of the gameplay service's durable
 * `gameplay.progress` channel in this service's own tables, read against the hunt's clues from the
 * hunts service's playbook, and rebuilt from the gameplay service's records on demand (REPL:
 * `analytics rebuild <huntId>`). Members of the hunt's partner (any role) and admins see it.
 */
import type { Context } from "moleculer";
import { UUID_PATTERN } from "../contracts/identity";
import { analyticsContract } from "../contracts/analytics";
import { PROGRESS_CHANNEL, type ProgressMessage } from "../contracts/gameplay";
import type { HuntPlaybook } from "../contracts/hunts";
import { AnalyticsFlows } from "../domain/analytics/analytics-flows";
import { ANALYTICS_MIGRATIONS, AnalyticsStore } from "../domain/analytics/analytics-store";
import { isAppError, notFound } from "../platform/errors/app-error";
import { defineService } from "../platform/moleculer/define-service";
import { callAsService } from "../platform/moleculer/service-identity";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import { ServiceDatabase } from "../mixins/database.mixin";
import type { ServiceDeps } from "./deps";

/** Where the access check leaves the playbook it read, so the handler does not ask for it again. */
type Locals = { playbook?: Promise<HuntPlaybook> };

/** The hunt's playbook (its partner, its clues in order); 404 for a hunt never published. */
const playbookOf = (ctx: Context, huntId: string): Promise<HuntPlaybook> =>
	callAsService(ctx.broker, "analytics", "hunts.playbook", { id: huntId }, ctx).catch(err => Promise.reject(isAppError(err, "NOT_FOUND") ? notFound("Hunt") : err));

export function createAnalyticsService({ backends }: ServiceDeps) {
	const database = new ServiceDatabase(backends, "analytics", ANALYTICS_MIGRATIONS);
	let flows!: AnalyticsFlows;

	return defineService(analyticsContract, {
		mixins: [database.mixin(), AccessControlMixin()],
		settings: { rest: "/" },

		actions: {
			hunt: {
				rest: "GET /hunts/:id/analytics",
				access: { partner: "member" },
				// The hunt's partner, from its playbook: a hunt never published has no analytics (404).
				partnerOf: async (params, ctx) => {
					if (typeof params.id !== "string" || !UUID_PATTERN.test(params.id)) return undefined;
					const playbook = playbookOf(ctx, params.id);
					(ctx.locals as Locals).playbook = playbook;
					return (await playbook).partnerId;
				},
				openapi: {
					summary: "How players fare in a hunt: joined, active, completed, flagged, and per clue discoveries, median minutes to find it, hints and wrong answers (its partner's members, admins)",
					description:
						"`joined` counts every participation ever started; `active` those playing now; `completed` those that reached a finish (a participation closed by its time limit or the hunt's end is in `joined` only); `flagged` those with at least one fix flagged by the anti-cheat rules. `clues` lists every clue of the hunt in its order, with `discovered` (players who found it), `medianMinutesToDiscover` (median minutes from joining to finding it, one decimal, null when nobody did), `hintsUsed` and `wrongAnswers` (by all players). Fed by the durable `gameplay.progress` channel: a step shows within moments of being played.",
					tags: ["hunts", "play"],
					responses: { "403": { description: "FORBIDDEN: not a member of the hunt's partner" }, "404": { description: "No such published (or archived) hunt" } },
				},
				async handler(ctx) {
					const playbook = await ((ctx.locals as Locals).playbook ?? playbookOf(ctx, ctx.params.id));
					return flows.report(playbook.id, playbook.clues);
				},
			},

			rebuild: {
				// The REPL's `analytics rebuild <huntId>`: after the projection was lost, or to check it.
				access: "admin",
				handler(ctx) {
					const { huntId } = ctx.params;
					return flows.rebuild(huntId, after => callAsService(ctx.broker, "analytics", "gameplay.history", { huntId, ...(after ? { after } : {}) }, ctx));
				},
			},
		},

		channels: {
			[PROGRESS_CHANNEL]: {
				group: "analytics",
				// Once per message id, and every fact keyed: a redelivery or a reordering changes nothing.
				async handler(ctx: Context<ProgressMessage>) {
					await database.consumeOnce(ctx, (_messages, db) => flows.record(db, ctx.params));
				},
			},
		},

		started() {
			flows = new AnalyticsFlows(new AnalyticsStore(database.db, "analytics"));
		},
	});
}
