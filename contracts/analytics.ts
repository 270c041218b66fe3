/**
 * Partner analytics per hunt: how many players joined, play, finished and were flagged, and per
 * clue how many found it, how long it took them, the hints and wrong answers it cost. A projection
 * of the gameplay service's `gameplay.progress` channel, kept in the analytics service's own tables
 * and rebuildable from the gameplay service's records.
 */
import { T, defineContract } from "./kit";
import { Uuid } from "./identity";

const Count = (description: string) => T.Integer({ minimum: 0, description });

const ClueAnalytics = T.Object(
	{
		clueId: Uuid(),
		title: T.String({ description: "The clue's title as the hunt has it" }),
		discovered: Count("Players who found this clue"),
		medianMinutesToDiscover: T.Union([T.Number({ minimum: 0 }), T.Null()], {
			description: "Median, over the players who found it, of the minutes from their joining the hunt to finding this clue, to one decimal; null when nobody found it",
		}),
		hintsUsed: Count("Hints taken on this clue, by all players"),
		wrongAnswers: Count("Wrong answers given to this clue's challenge, by all players"),
	},
	{ title: "ClueAnalytics" },
);

const HuntAnalytics = T.Object(
	{
		joined: Count("Participations ever started in this hunt, whatever became of them"),
		active: Count("Participations playing now (reinstated ones included; not completed, suspended or disqualified)"),
		completed: Count("Participations that reached a finish. Those closed because their time limit or the hunt's end came first are not counted here (only in joined)"),
		flagged: Count("Participations with at least one fix flagged by the anti-cheat rules (suspended and disqualified ones included)"),
		clues: T.Array(ClueAnalytics, { description: "Every clue of the hunt, in the hunt's order, those nobody found included" }),
	},
	{ title: "HuntAnalytics" },
);

export const analyticsContract = defineContract({
	service: "analytics",
	description: "Partner analytics per hunt, projected from the gameplay service's progress steps",
	actions: {
		hunt: { params: T.Object({ id: Uuid() }), result: HuntAnalytics },
		rebuild: {
			params: T.Object({ huntId: Uuid() }),
			result: T.Object({ huntId: Uuid(), participations: Count("Participations found in the history"), steps: Count("Progress steps recorded again") }),
		},
	},
	events: {},
	channels: {},
});
