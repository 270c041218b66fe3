/**
 * The rewards' operator command: `reward <id>` shows a reward's stock (offered, remaining, held by
 * claims under way) and its newest claims, without their codes.
 */
import type { ServiceBroker } from "moleculer";
import type { ActionResult } from "../contracts";
import { asOperator, reportFailure, type ReplArgs, type ReplCommand, type ReplHelpers } from "../platform/runtime/repl-kit";

export async function rewardReport(broker: ServiceBroker, rewardId: string): Promise<{ summary: string; rows: string[][] }> {
	const found = await broker.call<ActionResult<"rewards.inspect">, { id: string; limit: number }>("rewards.inspect", { id: rewardId, limit: 20 }, await asOperator(broker));
	const { reward } = found;
	const rule = reward.rule.kind === "all_finishers" ? "all finishers" : `${reward.rule.kind.replace("_", " ")} ${reward.rule.n}`;
	return {
		summary:
			`${reward.title} (hunt ${reward.huntId}, partner ${reward.partnerId}, ${rule}): ` +
			`stock ${reward.stock}, remaining ${reward.remaining}, claimed ${found.claimed}, redeemed ${found.redeemed}, claims under way ${found.reserved}`,
		rows: [["player", "claimed", "redeemed"], ...found.recent.map(claim => [claim.playerId, claim.claimedAt, claim.redeemedAt ?? ""])],
	};
}

export const rewardsReplCommands: ReplCommand[] = [
	{
		command: "reward <rewardId>",
		description: "A reward's stock and its newest claims (codes are never shown)",
		async action(broker: ServiceBroker, args: ReplArgs | undefined, helpers: ReplHelpers) {
			try {
				const { summary, rows } = await rewardReport(broker, String(args?.rewardId));
				console.log(summary);
				console.log(helpers.table(rows));
			} catch (err) {
				reportFailure("reward", err);
			}
		},
	},
];
