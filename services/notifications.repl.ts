/**
 * The notifications' operator command: `notifications <userId>` shows a user's newest
 * notifications and unread count (their live connections: `live <userId>`).
 */
import type { ServiceBroker } from "moleculer";
import type { ActionResult } from "../contracts";
import { asOperator, reportFailure, type ReplArgs, type ReplCommand, type ReplHelpers } from "../platform/runtime/repl-kit";

export async function inboxReport(broker: ServiceBroker, userId: string): Promise<{ unread: number; rows: string[][] }> {
	const { items, unread } = await broker.call<ActionResult<"notifications.inspect">, { userId: string; limit: number }>("notifications.inspect", { userId, limit: 20 }, await asOperator(broker));
	return { unread, rows: [["id", "kind", "title", "created", "read"], ...items.map(item => [String(item.id), item.kind, item.title, item.createdAt, item.readAt ?? ""])] };
}

export const notificationsReplCommands: ReplCommand[] = [
	{
		command: "notifications <userId>",
		description: "A user's newest notifications (20) and how many are unread",
		async action(broker: ServiceBroker, args: ReplArgs | undefined, helpers: ReplHelpers) {
			try {
				const { unread, rows } = await inboxReport(broker, String(args?.userId));
				console.log(`Unread: ${unread}`);
				console.log(helpers.table(rows));
			} catch (err) {
				reportFailure("notifications", err);
			}
		},
	},
];
