import type { ServiceBroker } from "moleculer";
import { clusterReportRows, gatherClusterReport, RegistryNode } from "../platform/runtime/cluster-report";
import type { HealthReport } from "../platform/runtime/node-backends";
import { asOperator, type ReplArgs, type ReplCommand, type ReplHelpers } from "../platform/runtime/repl-kit";
import type { Outbox } from "../platform/outbox/outbox";
import type { OutboxRelay } from "../platform/outbox/relay";

interface ServiceWithOutbox {
	name: string;
	outbox?: Outbox;
	relay?: OutboxRelay;
}

/** The outbox of each service on this node (the same table every node of that service shares). */
export async function outboxRows(broker: ServiceBroker, retry: boolean): Promise<string[][]> {
	const rows = [["service", "waiting", "oldest", "failed sends", "latest failure"]];
	for (const service of broker.services as unknown as ServiceWithOutbox[]) {
		if (!service.outbox) continue;
		if (retry) {
			await service.outbox.retryFailedNow();
			service.relay?.retryNow();
		}
		const backlog = await service.outbox.backlog();
		rows.push([service.name, String(backlog.pending), backlog.pending ? `${backlog.oldestAgeSeconds} s` : "-", String(backlog.failing), backlog.lastError ?? "-"]);
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
