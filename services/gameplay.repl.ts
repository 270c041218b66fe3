/**
 * The game's operator commands: `play <huntId>` (a running hunt's players, how recently they
 * reported, discoveries per clue), `participation <id>` (one player's run with its flags), `reviews`
 * (the suspended ones waiting) and `review <id> <reinstate|disqualify> <note…>` (decide, on the record).
 */
import type { ServiceBroker } from "moleculer";
import type { ReviewedParticipationView } from "../contracts/gameplay";
import { asOperator, reportFailure, type ReplArgs, type ReplCommand, type ReplHelpers } from "../platform/runtime/repl-kit";

interface LiveState {
	byState: Record<string, number>;
	reportingNow: number;
	lastReportAgeSeconds: { newest: number; median: number; oldest: number } | null;
	clues: Array<{ clueId: string; title: string; discovered: number }>;
}

export async function huntPlayReport(broker: ServiceBroker, huntId: string): Promise<string> {
	const state = await broker.call<LiveState, { huntId: string }>("gameplay.liveState", { huntId }, await asOperator(broker));
	const ages = state.lastReportAgeSeconds;
	return [
		`players: ${Object.entries(state.byState)
			.map(([name, n]) => `${n} ${name}`)
			.join(", ")}`,
		`reporting in the last 5 minutes: ${state.reportingNow}; last report age: ${ages ? `newest ${ages.newest} s, median ${ages.median} s, oldest ${ages.oldest} s` : "no report yet"}`,
		`discoveries per clue: ${state.clues.map(clue => `${clue.title} ${clue.discovered}`).join(", ") || "no clue"}`,
	].join("\n");
}

export function participationReport(participation: ReviewedParticipationView): string {
	return [
		`${participation.id} hunt ${participation.huntId} player ${participation.playerId}: ${participation.state}, score ${participation.score}, since ${participation.startedAt}${participation.completedAt ? `, completed ${participation.completedAt}` : ""}`,
		`found: ${participation.discovered.map(clue => `${clue.title}${clue.challenge ? (clue.challenge.solved ? " (solved)" : " (challenge open)") : ""}`).join(", ") || "nothing yet"}`,
		`looking for: ${participation.targets.length} clue(s)`,
		`flags: ${participation.flags.map(flag => `${flag.raisedAt} ${flag.code} ${JSON.stringify(flag.evidence)}`).join("\n       ") || "none"}`,
	].join("\n");
}

export async function reviewRows(broker: ServiceBroker, state: "suspended" | "disqualified" = "suspended"): Promise<string[][]> {
	const { items } = await broker.call<{ items: ReviewedParticipationView[] }, { state: string; limit: number }>("gameplay.reviewQueue", { state, limit: 200 }, await asOperator(broker));
	return [
		["participation", "hunt", "player", "score", "flags", "last flag"],
		...items.map(item => [item.id, item.huntId, item.playerId, String(item.score), item.flags.map(flag => flag.code).join(", "), item.flags.at(-1)?.raisedAt ?? ""]),
	];
}

export const gameplayReplCommands: ReplCommand[] = [
	{
		command: "play <huntId>",
		description: "A running hunt: players by state, how recently they reported, discoveries per clue",
		async action(broker: ServiceBroker, args: ReplArgs | undefined) {
			try {
				console.log(await huntPlayReport(broker, String(args?.huntId)));
			} catch (err) {
				reportFailure("play", err);
			}
		},
	},
	{
		command: "participation <id>",
		description: "One player's run: state, score, what they found, every cheat flag with its evidence",
		async action(broker: ServiceBroker, args: ReplArgs | undefined) {
			try {
				const participation = await broker.call<ReviewedParticipationView, { id: string }>("gameplay.inspect", { id: String(args?.id) }, await asOperator(broker));
				console.log(participationReport(participation));
			} catch (err) {
				reportFailure("participation", err);
			}
		},
	},
	{
		command: "reviews",
		description: "Participations suspended by repeated cheat flags, waiting for a decision (--disqualified: those already disqualified)",
		options: [{ option: "-d, --disqualified", description: "list the disqualified instead" }],
		async action(broker: ServiceBroker, args: ReplArgs | undefined, helpers: ReplHelpers) {
			try {
				console.log(helpers.table(await reviewRows(broker, args?.options?.disqualified ? "disqualified" : "suspended")));
			} catch (err) {
				reportFailure("reviews", err);
			}
		},
	},
	{
		command: "review <id> <decision> <note...>",
		description: "Decide on a suspended participation: reinstate or disqualify, with a note for the record",
		async action(broker: ServiceBroker, args: ReplArgs | undefined) {
			try {
				const note = Array.isArray(args?.note) ? args.note.join(" ") : String(args?.note ?? "");
				const reviewed = await broker.call<ReviewedParticipationView, { id: string; decision: string; note: string }>(
					"gameplay.review",
					{ id: String(args?.id), decision: String(args?.decision), note },
					await asOperator(broker),
				);
				console.log(`${reviewed.id} is now ${reviewed.state}.`);
			} catch (err) {
				reportFailure("review", err);
			}
		},
	},
];
