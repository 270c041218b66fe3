import type { ServiceBroker } from "moleculer";
import { clusterReportRows, gatherClusterReport, RegistryNode } from "./cluster-report";
import { nodeBackends, type HealthReport } from "./node-backends";
import { mintOperatorToken } from "./operator-token";

interface ReplHelpers {
	table(rows: string[][], options?: unknown): string;
}

/** Our commands for moleculer-repl (broker option `replOptions.customCommands`). */
export const replCommands = [
	{
		command: "cluster",
		alias: ["health"],
		description: "Nodes, their services and each backend's health",
		async action(broker: ServiceBroker, _args: unknown, helpers: ReplHelpers) {
			// system.health is for operators: the call carries the operator's token like our other commands.
			const accessToken = await mintOperatorToken(nodeBackends(broker).config);
			const report = await gatherClusterReport({
				nodes: () => broker.registry.getNodeList({ onlyAvailable: false, withServices: true }) as unknown as RegistryNode[],
				health: nodeID => broker.call<HealthReport, Record<string, never>>("system.health", {}, { nodeID, timeout: 3000, retries: 0, meta: { accessToken } }),
			});
			console.log(helpers.table(clusterReportRows(report)));
		},
	},
];
