/**
 * The gateway's operator command: `live <userId>` lists a user's live notification connections on
 * every gateway node (each node knows only its own, so each is asked), with a line for a node that
 * did not answer rather than a failed command.
 */
import type { ServiceBroker } from "moleculer";
import type { ActionResult } from "../contracts";
import { asOperator, reportFailure, type ReplArgs, type ReplCommand, type ReplHelpers } from "../platform/runtime/repl-kit";

type NodeConnections = ActionResult<"api.liveConnections">;

/** The nodes running the gateway, as this node's registry sees them now. */
function gatewayNodes(broker: ServiceBroker): string[] {
	const services = broker.registry.getServiceList({ onlyAvailable: true, skipInternal: true }) as unknown as Array<{ name: string; nodeID: string }>;
	return [...new Set(services.filter(service => service.name === "api").map(service => service.nodeID))].sort();
}

export async function liveConnectionRows(broker: ServiceBroker, userId: string): Promise<string[][]> {
	const operator = await asOperator(broker);
	const rows = [["node", "transport", "connected since", "last event id", "session", "catching up", "node total"]];
	for (const nodeID of gatewayNodes(broker)) {
		try {
			const answer = await broker.call<NodeConnections, { userId: string }>("api.liveConnections", { userId }, { nodeID, timeout: 3000, retries: 0, ...operator });
			if (answer.items.length === 0) rows.push([nodeID, "-", "-", "-", "-", "-", String(answer.total)]);
			for (const item of answer.items)
				rows.push([
					nodeID,
					item.transport,
					item.connectedAt,
					item.lastEventId === undefined ? "-" : String(item.lastEventId),
					`${item.sessionPrefix}…`,
					item.catchingUp ? "yes" : "no",
					String(answer.total),
				]);
		} catch (err) {
			rows.push([nodeID, "(no answer)", (err as Error).message, "", "", "", ""]);
		}
	}
	return rows;
}

export const liveReplCommands: ReplCommand[] = [
	{
		command: "live <userId>",
		description: "A user's live notification connections (SSE, WebSocket) on every gateway node",
		async action(broker: ServiceBroker, args: ReplArgs | undefined, helpers: ReplHelpers) {
			try {
				console.log(helpers.table(await liveConnectionRows(broker, String(args?.userId))));
			} catch (err) {
				reportFailure("live", err);
			}
		},
	},
];
