/**
 * The rewards use cases: a partner sponsors a reward on a hunt and tops its stock up, an eligible
 * player claims one and gets a code, the partner redeems the code once. Claims and redemptions are
 * on the record (audit) in the transactions that make them.
 *
 * A claim is a flow of named steps (platform/flows/flow.ts), since eligibility is another
 * service's answer and the stock must be held while it is acted on:
 * 1. check eligibility: the hunt's participations as the gameplay service records them;
 * 2. reserve stock: one of the stock held for the player (reward-store.ts); undone by giving it back;
 * 3. issue code and notify: the reservation becomes the player's claim with a new code, and the
 *    audit fact and the `rewards.claimed` message (the player's "reward won" notification) are
 *    written in that same transaction, so no code is ever issued without its notification, nor a
 *    notification sent for a code that was not.
 */
import type { HuntPlaybook } from "../../contracts/hunts";
import { REWARD_CLAIMED_CHANNEL, type RewardView } from "../../contracts/rewards";
import { AppError, isAppError, notFound } from "../../platform/errors/app-error";
import { runFlow, type FlowHooks } from "../../platform/flows/flow";
import type { Outbox } from "../../platform/outbox/outbox";
import { writeAuditFactFrom, type ChangeOrigin } from "../audit/facts";
import { eligibilityOf, type PlayerStanding, type RewardRule } from "./eligibility";
import { readRedemptionCode } from "./redemption-code";
import type { Reward, RewardStore } from "./reward-store";

export interface RewardPorts {
	/** The hunt as played (published or archived); NOT_FOUND for a draft or an unknown hunt. */
	playbook(huntId: string): Promise<Pick<HuntPlaybook, "id" | "partnerId" | "status" | "endsAt" | "partnerSuspended">>;
	/** Where the player stands among the hunt's participations (undefined: they never joined). */
	standing(huntId: string, playerId: string): Promise<PlayerStanding | undefined>;
	/** Whether the user is a member of the partner now. */
	isMember(userId: string, partnerId: string): Promise<boolean>;
	/** The partner owning the hunt (a draft's too); undefined for no such hunt. */
	huntPartner(huntId: string): Promise<string | undefined>;
	now(): number;
}

/** A reservation older than this belongs to a claim whose process died between its steps: its stock goes back. */
export const RESERVATION_LAPSE_MS = 60_000;

export interface Viewer {
	userId: string;
	admin: boolean;
}

interface ClaimContext {
	reward: Reward;
	playerId: string;
	origin: ChangeOrigin;
	code?: string;
}

export class RewardFlows {
	constructor(
		private readonly store: RewardStore,
		private readonly outbox: Outbox,
		private readonly ports: RewardPorts,
		private readonly hooks: FlowHooks = {},
	) {}

	async create(huntId: string, partnerId: string, fields: { title: string; description: string; stock: number; rule: RewardRule }, origin: ChangeOrigin): Promise<RewardView> {
		const reward = await this.outbox.transaction(async (messages, tx) => {
			const made = await this.store.create({ huntId, partnerId, ...fields }, new Date(this.ports.now()), tx);
			await writeAuditFactFrom(messages, origin, { action: "rewards.created", subject: { type: "reward", id: made.id }, data: { huntId, stock: made.stock, rule: made.rule.kind } });
			return made;
		});
		return viewOf(reward);
	}

	async get(id: string, viewer: Viewer): Promise<RewardView> {
		const reward = await this.existing(id);
		if (!(await this.mayView(reward.huntId, reward.partnerId, viewer))) throw notFound("Reward");
		return viewOf(reward);
	}

	async forHunt(huntId: string, viewer: Viewer): Promise<{ items: RewardView[] }> {
		const rewards = await this.store.forHunt(huntId);
		if (!(await this.mayView(huntId, rewards[0]?.partnerId ?? (await this.ports.huntPartner(huntId)), viewer))) throw notFound("Hunt");
		return { items: rewards.map(viewOf) };
	}

	/**
	 * A hunt's rewards are seen by players once it is played (published or archived, its partner not
	 * suspended), and always by the partner's members and admins: a draft's plans are the partner's own.
	 */
	private async mayView(huntId: string, partnerId: string | undefined, viewer: Viewer): Promise<boolean> {
		if (viewer.admin) return true;
		if (partnerId !== undefined && (await this.ports.isMember(viewer.userId, partnerId))) return true;
		try {
			return !(await this.ports.playbook(huntId)).partnerSuspended;
		} catch (err) {
			if (isAppError(err, "NOT_FOUND")) return false;
			throw err;
		}
	}

	/** The reward's partner, for partner-scoped access; undefined for an unknown reward. */
	async partnerOf(id: string): Promise<string | undefined> {
		return (await this.store.get(id))?.partnerId;
	}

	async claim(rewardId: string, playerId: string, origin: ChangeOrigin): Promise<{ code: string }> {
		const reward = await this.existing(rewardId);
		const done = await runFlow<ClaimContext>(
			"reward claim",
			[
				{ name: "check eligibility", run: context => this.checkEligibility(context) },
				{
					name: "reserve stock",
					run: context => this.reserve(context),
					compensate: context => this.store.release(context.reward.id, context.playerId).then(() => undefined),
				},
				{ name: "issue code and notify", run: context => this.issue(context) },
			],
			{ reward, playerId, origin },
			this.hooks,
		);
		return { code: done.code! };
	}

	async topUp(id: string, added: number, origin: ChangeOrigin): Promise<RewardView> {
		const reward = await this.outbox.transaction(async (messages, tx) => {
			const grown = await this.store.topUp(id, added, tx);
			if (!grown) throw notFound("Reward");
			await writeAuditFactFrom(messages, origin, { action: "rewards.topped_up", subject: { type: "reward", id }, data: { added, stock: grown.stock, remaining: grown.remaining } });
			return grown;
		});
		return viewOf(reward);
	}

	/**
	 * Marks a code redeemed, once, for a member of the reward's partner. A code that is not one of
	 * ours, or belongs to a partner the caller is not a member of, is answered as unknown: codes are
	 * not to be probed.
	 */
	async redeem(typed: string, userId: string, origin: ChangeOrigin): Promise<{ rewardId: string; redeemedAt: string }> {
		const code = readRedemptionCode(typed);
		const owner = code === undefined ? undefined : await this.store.codeOwner(code);
		if (!code || !owner || !(await this.ports.isMember(userId, owner.partnerId))) throw new AppError("CODE_UNKNOWN");
		const result = await this.outbox.transaction(async (messages, tx) => {
			const redeemed = await this.store.redeem(code, owner.partnerId, userId, new Date(this.ports.now()), tx);
			if (redeemed.kind === "redeemed") {
				await writeAuditFactFrom(messages, origin, { action: "rewards.redeemed", subject: { type: "reward", id: redeemed.rewardId }, data: { partnerId: owner.partnerId } });
			}
			return redeemed;
		});
		if (result.kind === "unknown") throw new AppError("CODE_UNKNOWN");
		if (result.kind === "already") throw new AppError("ALREADY_REDEEMED", undefined, { rewardId: result.rewardId, redeemedAt: result.redeemedAt.toISOString() });
		return { rewardId: result.rewardId, redeemedAt: result.redeemedAt.toISOString() };
	}

	async inspect(id: string, limit: number) {
		const reward = await this.existing(id);
		const claims = await this.store.claimsOf(id, limit);
		return {
			reward: viewOf(reward),
			claimed: claims.claimed,
			redeemed: claims.redeemed,
			reserved: claims.reserved,
			recent: claims.recent.map(claim => ({ playerId: claim.playerId, claimedAt: claim.claimedAt.toISOString(), redeemedAt: claim.redeemedAt?.toISOString() ?? null })),
		};
	}

	/** Stock held by claims that died between their steps goes back; resolves how many. */
	sweepLapsed(): Promise<number> {
		return this.store.sweepLapsed(new Date(this.ports.now() - RESERVATION_LAPSE_MS));
	}

	private async checkEligibility({ reward, playerId }: ClaimContext): Promise<void> {
		const hunt = await this.ports.playbook(reward.huntId).catch((err: unknown) => {
			// A hunt never published (or taken down) has no one who could have earned it.
			if (isAppError(err, "NOT_FOUND")) throw new AppError("NOT_ELIGIBLE", "This hunt is not being played", { because: "HUNT_NOT_PLAYED" });
			throw err;
		});
		if (hunt.partnerSuspended) throw new AppError("NOT_ELIGIBLE", "This hunt is not being played", { because: "HUNT_NOT_PLAYED" });
		const verdict = eligibilityOf(reward.rule, await this.ports.standing(reward.huntId, playerId), { endsAt: Date.parse(hunt.endsAt) }, this.ports.now());
		if (verdict.eligible) return;
		// A player who holds a code keeps being told so (a client that lost the answer asks again).
		const code = await this.store.codeFor(reward.id, playerId);
		if (code) throw new AppError("ALREADY_CLAIMED", undefined, { code });
		throw new AppError("NOT_ELIGIBLE", undefined, { because: verdict.because });
	}

	private async reserve(context: ClaimContext): Promise<void> {
		const reserved = await this.store.reserve(context.reward.id, context.playerId, new Date(this.ports.now()));
		switch (reserved.kind) {
			case "reserved":
				return;
			case "already":
				throw new AppError("ALREADY_CLAIMED", undefined, { code: reserved.code });
			case "pending":
				throw new AppError("ALREADY_CLAIMED", "Your claim of this reward is under way");
			case "exhausted":
				throw new AppError("REWARD_EXHAUSTED");
		}
	}

	private async issue(context: ClaimContext): Promise<void> {
		const { reward, playerId, origin } = context;
		const now = new Date(this.ports.now());
		context.code = await this.outbox.transaction(async (messages, tx) => {
			const code = await this.store.issue(tx, reward.id, playerId, now);
			// Swept: this claim stalled longer than a reservation lives, and its stock went back.
			if (!code) throw new AppError("SERVICE_UNAVAILABLE", "The claim took too long; try again");
			await writeAuditFactFrom(messages, origin, { action: "rewards.claimed", subject: { type: "reward", id: reward.id }, data: { huntId: reward.huntId, playerId } });
			await messages.add(
				REWARD_CLAIMED_CHANNEL,
				{ rewardId: reward.id, huntId: reward.huntId, partnerId: reward.partnerId, playerId, title: reward.title, at: now.toISOString() },
				{ partitionKey: reward.id },
			);
			return code;
		});
	}

	private async existing(id: string): Promise<Reward> {
		const reward = await this.store.get(id);
		if (!reward) throw notFound("Reward");
		return reward;
	}
}

function viewOf(reward: Reward): RewardView {
	return { ...reward, createdAt: reward.createdAt.toISOString() };
}
