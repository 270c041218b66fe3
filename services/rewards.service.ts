/**
 * Rewards partners sponsor on hunts (domain/rewards/: the claim flow, the stock that never
 * oversells, the codes). This file maps them to actions and REST routes; eligibility comes from
 * the gameplay service's participations, the hunt from the hunts service, membership from the
 * partners service, each called as this service.
 */
import type { Context, ServiceBroker } from "moleculer";
import type { ActionResult } from "../contracts";
import { rewardsContract } from "../contracts/rewards";
import { SharedAnswers } from "../platform/cache/shared-answers";
import { RewardFlows, type Viewer } from "../domain/rewards/reward-flows";
import { REWARDS_MIGRATIONS, RewardStore } from "../domain/rewards/reward-store";
import { UUID_PATTERN } from "../contracts/identity";
import { changeOriginOf } from "../platform/moleculer/audit";
import { callerOf, userOf } from "../platform/moleculer/authorization";
import { isAdmin } from "../platform/identity/access";
import { defineService } from "../platform/moleculer/define-service";
import { created } from "../platform/moleculer/responses";
import { callAsService } from "../platform/moleculer/service-identity";
import { isAppError } from "../platform/errors/app-error";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import { ServiceDatabase } from "../mixins/database.mixin";
import { every, type PeriodicTask } from "../platform/runtime/periodic";
import type { ServiceDeps } from "./deps";

/** How long a hunt's playbook is reused between claims (changes that matter to claims are broadcast anyway). */
const PLAYBOOK_KEPT_MS = 30_000;

/** How often stock held by claims that died between their steps is looked for. */
const SWEEP_INTERVAL_MS = 30_000;

export function createRewardsService({ backends }: ServiceDeps) {
	const database = new ServiceDatabase(backends, "rewards", REWARDS_MIGRATIONS);
	let flows!: RewardFlows;
	let sweep: PeriodicTask | undefined;
	let playbooks: SharedAnswers<ActionResult<"hunts.playbook">> | undefined;

	const isUuid = (value: unknown): value is string => typeof value === "string" && UUID_PATTERN.test(value);
	/** The partner owning the hunt (drafts included): who may sponsor on it; undefined for no such hunt. */
	const huntPartner = async (broker: ServiceBroker, huntId: string, ctx?: Context) => {
		try {
			return (await callAsService(broker, "rewards", "hunts.ownerOf", { id: huntId }, ctx)).partnerId;
		} catch (err) {
			if (isAppError(err, "NOT_FOUND")) return undefined;
			throw err;
		}
	};
	const partnerOfHunt = (params: Record<string, unknown>, ctx: Context) => (isUuid(params.id) ? huntPartner(ctx.broker, params.id, ctx) : undefined);
	const viewerOf = (ctx: Context): Viewer => ({ userId: userOf(ctx).userId, admin: isAdmin(callerOf(ctx)) });
	const partnerOfReward = (params: Record<string, unknown>) => (isUuid(params.id) ? flows.partnerOf(params.id) : undefined);

	return defineService(rewardsContract, {
		mixins: [database.mixin(), AccessControlMixin()],
		settings: { rest: "/" },

		actions: {
			create: {
				rest: "POST /hunts/:id/rewards",
				access: { partner: "editor" },
				partnerOf: partnerOfHunt,
				openapi: {
					summary: "Sponsor a reward on your partner's hunt: a stock and a rule for who may claim one",
					tags: ["rewards"],
					successStatus: 201,
					responses: { "403": { description: "Not an owner or editor of the hunt's partner (or no such hunt)" } },
				},
				async handler(ctx) {
					const { id: huntId, ...fields } = ctx.params;
					const partnerId = (await huntPartner(ctx.broker, huntId, ctx))!;
					const reward = await flows.create(huntId.toLowerCase(), partnerId, fields, changeOriginOf(ctx));
					return created(ctx, `/api/rewards/${reward.id}`, reward);
				},
			},

			forHunt: {
				rest: "GET /hunts/:id/rewards",
				access: "user",
				openapi: { summary: "The rewards sponsored on a hunt, with what remains of each", tags: ["rewards"] },
				handler(ctx) {
					return flows.forHunt(ctx.params.id.toLowerCase(), viewerOf(ctx));
				},
			},

			get: {
				rest: "GET /rewards/:id",
				access: "user",
				openapi: { summary: "A reward, with what remains of it", tags: ["rewards"] },
				handler(ctx) {
					return flows.get(ctx.params.id, viewerOf(ctx));
				},
			},

			claim: {
				rest: "POST /rewards/:id/claim",
				access: "user",
				openapi: {
					summary: "Claim a reward you are eligible for: your redemption code",
					tags: ["rewards"],
					successStatus: 201,
					responses: {
						"403": { description: "NOT_ELIGIBLE (details.because: NOT_PLAYING, NOT_FINISHED, NOT_AMONG_FIRST, HUNT_NOT_OVER, NOT_IN_TOP, UNDER_REVIEW, DISQUALIFIED, HUNT_NOT_PLAYED)" },
						"404": { description: "No such reward" },
						"409": { description: "REWARD_EXHAUSTED, or ALREADY_CLAIMED (details.code: your code)" },
					},
				},
				async handler(ctx) {
					const claimed = await flows.claim(ctx.params.id, userOf(ctx).userId, changeOriginOf(ctx));
					return created(ctx, `/api/rewards/${ctx.params.id}`, claimed);
				},
			},

			topUp: {
				rest: "POST /rewards/:id/stock",
				access: { partner: "editor" },
				partnerOf: partnerOfReward,
				openapi: { summary: "Add to a reward's stock", tags: ["rewards"], responses: { "403": { description: "Not an owner or editor of the reward's partner (or no such reward)" } } },
				handler(ctx) {
					return flows.topUp(ctx.params.id, ctx.params.add, changeOriginOf(ctx));
				},
			},

			redeem: {
				rest: "POST /rewards/redeem",
				access: "user",
				// A code in a URL ends up in logs and browser history.
				secrets: ["code"],
				openapi: {
					summary: "Redeem a player's code, once (members of the reward's partner); any case, spaces and dashes are fine",
					tags: ["rewards"],
					responses: { "404": { description: "CODE_UNKNOWN: not a code of your partner's rewards" }, "409": { description: "ALREADY_REDEEMED (details.redeemedAt)" } },
				},
				handler(ctx) {
					return flows.redeem(ctx.params.code, userOf(ctx).userId, changeOriginOf(ctx));
				},
			},

			inspect: {
				// The REPL's `reward <id>`.
				access: "admin",
				handler(ctx) {
					return flows.inspect(ctx.params.id, ctx.params.limit);
				},
			},
		},

		started() {
			const broker = this.broker;
			// A burst of claims on one reward asks for its hunt alike: one request serves them all. A hunt's
			// window is frozen at publication; what may change (taken down, its partner suspended) is
			// broadcast, and the copy is dropped then.
			const kept = new SharedAnswers(huntId => callAsService(broker, "rewards", "hunts.playbook", { id: huntId }), { keepMs: PLAYBOOK_KEPT_MS });
			playbooks = kept;
			flows = new RewardFlows(
				new RewardStore(database.db, "rewards"),
				database.outbox,
				{
					playbook: huntId => kept.get(huntId.toLowerCase()),
					standing: async (huntId, playerId) => (await callAsService(broker, "rewards", "gameplay.standingOf", { huntId, playerId })).standing ?? undefined,
					huntPartner: huntId => huntPartner(broker, huntId),
					isMember: async (userId, partnerId) => Object.hasOwn(await callAsService(broker, "rewards", "partners.membershipsOf", { userId }), partnerId),
					now: Date.now,
				},
				{ compensationFailed: (flow, step, err) => this.logger.error(`${flow}: undoing '${step}' failed; an operator must see to it`, err) },
			);
			sweep = every(
				SWEEP_INTERVAL_MS,
				() => flows.sweepLapsed(),
				err => this.logger.warn(`Returning stock of lapsed reservations failed; the next sweep retries: ${err.message}`),
			);
		},

		stopped() {
			sweep?.stop();
		},

		events: {
			"hunt.visibility.changed"(ctx) {
				playbooks?.forget((ctx.params as { huntId: string }).huntId.toLowerCase());
			},
		},
	});
}
