/**
 * The leaderboards' operator command: `leaderboard <huntId>` shows a hunt's ranking, and with
 * `--rebuild` first rebuilds it from the participations (after a store was lost, or to check it).
 */
import type { ServiceBroker } from "moleculer";
import { asOperator, reportFailure, type ReplArgs, type ReplCommand, type ReplHelpers } from "../platform/runtime/repl-kit";

interface Ranked {
	rank: number;
	playerId: string;
	displayName: string;
	score: number;
	completedAt?: string;
}

export async function leaderboardRows(broker: ServiceBroker, huntId: string, options: { rebuild?: boolean } = {}): Promise<{ rebuilt?: number; rows: string[][] }> {
	const operator = await asOperator(broker);
	const rebuilt = options.rebuild ? (await broker.call<{ ranked: number }, { huntId: string }>("leaderboards.rebuild", { huntId }, operator)).ranked : undefined;
	const { items } = await broker.call<{ items: Ranked[] }, { id: string; limit: number }>("leaderboards.get", { id: huntId, limit: 100 }, operator);
	return {
		...(rebuilt !== undefined ? { rebuilt } : {}),
		rows: [["rank", "player", "name", "score", "finished"], ...items.map(item => [String(item.rank), item.playerId, item.displayName, String(item.score), item.completedAt ?? ""])],
	};
}

export const leaderboardsReplCommands: ReplCommand[] = [
	{
		command: "leaderboard <huntId>",
		description: "A hunt's ranking (top 100); --rebuild first rebuilds it from the participations",
		options: [{ option: "-r, --rebuild", description: "rebuild from the participations first" }],
		async action(broker: ServiceBroker, args: ReplArgs | undefined, helpers: ReplHelpers) {
			try {
				const { rebuilt, rows } = await leaderboardRows(broker, String(args?.huntId), { rebuild: Boolean(args?.options?.rebuild) });
				if (rebuilt !== undefined) console.log(`Rebuilt: ${rebuilt} player(s) ranked.`);
				console.log(helpers.table(rows));
			} catch (err) {
				reportFailure("leaderboard", err);
			}
		},
	},
];
