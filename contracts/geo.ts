/**
 * The geo domain: where published public hunts are, for "hunts near me".
 */
import { Defaulted, T, defineContract, withValidation } from "./kit";

export const NEARBY_MAX_RADIUS_M = 50_000;

export const geoContract = defineContract({
	service: "geo",
	description: "The spatial index of published public hunts",
	actions: {
		nearby: {
			params: T.Object({
				lat: T.Number({ minimum: -85.05112878, maximum: 85.05112878 }),
				lon: T.Number({ minimum: -180, maximum: 180 }),
				radiusM: T.Number({ exclusiveMinimum: 0, maximum: NEARBY_MAX_RADIUS_M }),
				limit: Defaulted(withValidation(T.Integer({ minimum: 1, maximum: 100_000 }), { convert: true }), 1000),
			}),
			result: T.Object({ items: T.Array(T.Object({ huntId: T.String({ format: "uuid" }), distanceM: T.Number() })) }),
		},
	},
	events: {
		"geo.hunts.moved": {
			description: "The index of hunts near a point took a change in (a hunt placed or taken out). Broadcast: every node drops the searches it answered before.",
			payload: T.Object({ huntId: T.String({ format: "uuid" }), at: T.String({ format: "date-time" }) }),
		},
	},
	channels: {},
});
