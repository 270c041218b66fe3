import type { ServiceBroker } from "moleculer";
import { clusterReportRows, gatherClusterReport, RegistryNode } from "./cluster-report";
import type { HealthReport } from "./node-backends";

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
			const report = await gatherClusterReport({
				nodes: () => broker.registry.getNodeList({ onlyAvailable: false, withServices: true }) as unknown as RegistryNode[],
				health: nodeID => broker.call<HealthReport, Record<string, never>>("system.health", {}, { nodeID, timeout: 3000, retries: 0 }),
			});
			console.log(helpers.table(clusterReportRows(report)));
		},
	},
];
