/**
 * Live leaderboards per hunt: ranked by score, then by finish time. A view of the participations,
 * fed by the gameplay service's `gameplay.standings` channel.
 */
import { Defaulted, T, defineContract, withValidation } from "./kit";
import { IsoDateTime, Uuid } from "./identity";

export const leaderboardsContract = defineContract({
	service: "leaderboards",
	description: "Each hunt's live ranking",
	actions: {
		get: {
			params: T.Object({ id: Uuid(), limit: Defaulted(withValidation(T.Integer({ minimum: 1, maximum: 100 }), { convert: true }), 20) }),
			result: T.Object(
				{
					items: T.Array(T.Object({ rank: T.Integer({ minimum: 1 }), playerId: Uuid(), displayName: T.String(), score: T.Integer(), completedAt: T.Optional(IsoDateTime()) })),
				},
				{ title: "Leaderboard" },
			),
		},
		rebuild: { params: T.Object({ huntId: Uuid() }), result: T.Object({ huntId: Uuid(), ranked: T.Integer() }) },
	},
	events: {},
	channels: {},
});
