/**
 * Rewards a partner sponsors on a hunt: a limited stock, a rule for who may claim one, a code per
 * claim that the partner redeems once. PRODUCT.md's shapes: `POST /api/hunts/:id/rewards`,
 * `POST /api/rewards/:id/claim` → 201 `{ code }`, `POST /api/rewards/redeem` `{ code }`.
 */
import { Defaulted, T, defineContract, withValidation, type Static } from "./kit";
import { IsoDateTime, Uuid } from "./identity";

const Count = (description: string) => T.Integer({ minimum: 1, maximum: 1_000_000, description });
const Text = (min: number, max: number) => withValidation(T.String({ minLength: min, maxLength: max }), { trim: true });

const Rule = () =>
	T.Union(
		[
			T.Object({ kind: T.Literal("first_finishers"), n: Count("The first n players to reach a finish") }, { additionalProperties: false }),
			T.Object({ kind: T.Literal("all_finishers") }, { additionalProperties: false }),
			T.Object({ kind: T.Literal("top"), n: Count("Once the hunt is over, the players ranked n or better (ties share a rank; the stock decides among them)") }, { additionalProperties: false }),
		],
		{ description: "Who may claim one" },
	);

const Reward = T.Object(
	{
		id: Uuid(),
		huntId: Uuid(),
		partnerId: Uuid(),
		title: T.String(),
		description: T.String(),
		rule: Rule(),
		stock: T.Integer({ minimum: 0, description: "How many were ever offered (top-ups included)" }),
		remaining: T.Integer({ minimum: 0 }),
		createdAt: IsoDateTime(),
	},
	{ title: "Reward" },
);

const RewardId = () => T.Object({ id: Uuid() });

/** Durable: a player claimed a reward and holds its code (the code itself never travels). */
export const REWARD_CLAIMED_CHANNEL = "rewards.claimed";

export const rewardsContract = defineContract({
	service: "rewards",
	description: "Rewards partners sponsor on hunts: stock, claims and redemption codes",
	actions: {
		create: {
			params: T.Object({ id: Uuid(), title: Text(1, 120), description: Defaulted(Text(0, 2000), ""), stock: Count("How many to give"), rule: Rule() }, { additionalProperties: false }),
			result: Reward,
		},
		forHunt: { params: RewardId(), result: T.Object({ items: T.Array(Reward) }) },
		get: { params: RewardId(), result: Reward },
		claim: {
			params: RewardId(),
			result: T.Object({ code: T.String({ description: "Crockford base 32 in groups of four, e.g. 7K3M-Q9XD-2TZB-H4NW-R8CF-J; shown to the partner to redeem" }) }),
		},
		topUp: { params: T.Object({ id: Uuid(), add: Count("How many more") }, { additionalProperties: false }), result: Reward },
		redeem: {
			params: T.Object({ code: T.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
			result: T.Object({ rewardId: Uuid(), redeemedAt: IsoDateTime() }),
		},
		/** Operators: a reward's stock and its claims. */
		inspect: {
			params: T.Object({ id: Uuid(), limit: Defaulted(T.Integer({ minimum: 1, maximum: 100 }), 10) }),
			result: T.Object({
				reward: Reward,
				claimed: T.Integer(),
				redeemed: T.Integer(),
				reserved: T.Integer({ description: "Claims between their steps right now" }),
				recent: T.Array(T.Object({ playerId: Uuid(), claimedAt: IsoDateTime(), redeemedAt: T.Union([IsoDateTime(), T.Null()]) })),
			}),
		},
	},
	events: {},
	channels: {
		[REWARD_CLAIMED_CHANNEL]: {
			description: "A player claimed a reward and now holds its redemption code: the player is told (reward won).",
			payload: T.Object({ rewardId: Uuid(), huntId: Uuid(), partnerId: Uuid(), playerId: Uuid(), title: T.String(), at: IsoDateTime() }),
			partitionKey: "rewardId",
		},
	},
});

export type RewardView = Static<typeof Reward>;
export type RewardClaimedMessage = Static<(typeof rewardsContract.channels)[typeof REWARD_CLAIMED_CHANNEL]["payload"]>;
