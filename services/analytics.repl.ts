/**
 * Partner analytics' operator commands: `analytics <huntId>` shows what the hunt's partner sees,
 * and `analytics rebuild <huntId>` first wipes the hunt's projection and rebuilds it from the
 * gameplay service's records (after it was lost, or to check it).
 */
import type { ServiceBroker } from "moleculer";
import type { ActionResult } from "../contracts";
import { asOperator, reportFailure, type ReplArgs, type ReplCommand, type ReplHelpers } from "../platform/runtime/repl-kit";

export async function analyticsRows(broker: ServiceBroker, huntId: string, options: { rebuild?: boolean } = {}): Promise<{ summary: string; rows: string[][] }> {
	const operator = await asOperator(broker);
	const rebuilt = options.rebuild ? await broker.call<ActionResult<"analytics.rebuild">, { huntId: string }>("analytics.rebuild", { huntId }, operator) : undefined;
	const report = await broker.call<ActionResult<"analytics.hunt">, { id: string }>("analytics.hunt", { id: huntId }, operator);
	const counts = `joined ${report.joined}, active ${report.active}, completed ${report.completed} (reached a finish), flagged ${report.flagged}`;
	return {
		summary: rebuilt ? `Rebuilt from ${rebuilt.participations} participation(s), ${rebuilt.steps} step(s).\n${counts}` : counts,
		rows: [
			["clue", "title", "found by", "median minutes", "hints", "wrong answers"],
			...report.clues.map(clue => [
				clue.clueId,
				clue.title,
				String(clue.discovered),
				clue.medianMinutesToDiscover === null ? "-" : clue.medianMinutesToDiscover.toFixed(1),
				String(clue.hintsUsed),
				String(clue.wrongAnswers),
			]),
		],
	};
}

export const analyticsReplCommands: ReplCommand[] = [
	{
		// moleculer-repl has no sub-commands: `analytics rebuild <huntId>` arrives as two arguments.
		command: "analytics <huntIdOrRebuild> [huntId]",
		description: "A hunt's partner analytics; `analytics rebuild <huntId>` first rebuilds them from the gameplay records",
		async action(broker: ServiceBroker, args: ReplArgs | undefined, helpers: ReplHelpers) {
			try {
				const first = String(args?.huntIdOrRebuild);
				const rebuild = first === "rebuild";
				const huntId = rebuild ? args?.huntId : first;
				if (typeof huntId !== "string" || !huntId) throw new Error("usage: analytics <huntId> | analytics rebuild <huntId>");
				const { summary, rows } = await analyticsRows(broker, huntId, { rebuild });
				console.log(summary);
				console.log(helpers.table(rows));
			} catch (err) {
				reportFailure("analytics", err);
			}
		},
	},
];
