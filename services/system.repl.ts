import type { ServiceBroker } from "moleculer";
import { clusterReportRows, gatherClusterReport, RegistryNode } from "../platform/runtime/cluster-report";
import type { HealthReport } from "../platform/runtime/node-backends";
import { asOperator, type ReplArgs, type ReplCommand, type ReplHelpers } from "../platform/runtime/repl-kit";
import type { ServiceDatabase } from "../mixins/database.mixin";

/** What ServiceDatabase publishes on the services that have one. */
interface ServiceWithDatabase {
	name: string;
	database?: ServiceDatabase;
}

/** The outbox of each service on this node (the same table every node of that service shares). */
export async function outboxRows(broker: ServiceBroker, retry: boolean): Promise<string[][]> {
	const rows = [["service", "waiting", "oldest", "failed sends", "latest failure"]];
	for (const { name, database } of broker.services as unknown as ServiceWithDatabase[]) {
		if (!database?.outbox) continue;
		if (retry) {
			await database.outbox.retryFailedNow();
			database.relay?.retryNow();
		}
		const backlog = await database.outbox.backlog();
		rows.push([name, String(backlog.pending), backlog.pending ? `${backlog.oldestAgeSeconds} s` : "-", String(backlog.failing), backlog.lastError ?? "-"]);
	}
	return rows;
}

/** Operator commands about the nodes themselves (services/index.ts hands them to the REPL). */
export const systemReplCommands: ReplCommand[] = [
	{
		command: "cluster",
		alias: ["health"],
		description: "Nodes, their services and each backend's health",
		async action(broker: ServiceBroker, _args: ReplArgs | undefined, helpers: ReplHelpers) {
			// system.health is for operators: the call carries the operator's token like our other commands.
			const operator = await asOperator(broker);
			const report = await gatherClusterReport({
				nodes: () => broker.registry.getNodeList({ onlyAvailable: false, withServices: true }) as unknown as RegistryNode[],
				health: nodeID => broker.call<HealthReport, Record<string, never>>("system.health", {}, { nodeID, timeout: 3000, retries: 0, ...operator }),
			});
			console.log(helpers.table(clusterReportRows(report)));
		},
	},
	{
		command: "outbox",
		description: "Messages each service here has committed but not sent yet (e.g. while a channel backend is away)",
		options: [{ option: "-r, --retry", description: "send the failed ones now instead of waiting out the backoff" }],
		async action(broker: ServiceBroker, args: ReplArgs | undefined, helpers: ReplHelpers) {
			console.log(helpers.table(await outboxRows(broker, Boolean(args?.options?.retry))));
		},
	},
];
