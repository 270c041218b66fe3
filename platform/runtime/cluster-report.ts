/**
 * What the operators' `cluster` REPL command shows: every node, its services and each backend's
 * health. Gathering goes through actions so it works from a REPL that merely joined the cluster.
 */
import type { HealthReport } from "./node-backends";

export interface NodeSummary {
	nodeID: string;
	available: boolean;
	local: boolean;
	services: string[];
	health?: HealthReport;
	/** Why the node's health could not be read (e.g. it runs an older build without `system`). */
	healthError?: string;
}

export interface RegistryNode {
	id: string;
	available: boolean;
	local: boolean;
	services?: Array<{ name: string; fullName?: string }>;
}

export interface ClusterCaller {
	nodes(): RegistryNode[];
	health(nodeID: string): Promise<HealthReport>;
}

export async function gatherClusterReport(caller: ClusterCaller): Promise<NodeSummary[]> {
	const nodes = caller.nodes().sort((a, b) => a.id.localeCompare(b.id));
	return Promise.all(
		nodes.map(async node => {
			const summary: NodeSummary = {
				nodeID: node.id,
				available: node.available,
				local: node.local,
				services: (node.services ?? [])
					.map(s => s.fullName ?? s.name)
					.filter(name => !name.startsWith("$"))
					.sort(),
			};
			if (!node.available) return summary;
			try {
				summary.health = await caller.health(node.id);
			} catch (err) {
				summary.healthError = (err as Error).message;
			}
			return summary;
		}),
	);
}

/** Rows for a table: one per node and backend, the node's first row naming its services. */
export function clusterReportRows(report: NodeSummary[]): string[][] {
	const rows: string[][] = [["Node", "State", "Services", "Backend", "Status", "Target", "Latency"]];
	for (const node of report) {
		const state = !node.available ? "offline" : node.health?.status === "up" ? "ready" : "degraded";
		const name = node.local ? `${node.nodeID} (this REPL)` : node.nodeID;
		const services = node.services.join(", ") || "-";
		const backends = Object.entries(node.health?.backends ?? {});
		if (!backends.length) {
			rows.push([name, state, services, node.healthError ? "health" : "-", node.healthError ? "unknown" : "-", node.healthError ?? "-", "-"]);
			continue;
		}
		backends.forEach(([backend, status], index) => {
			rows.push([
				index === 0 ? name : "",
				index === 0 ? state : "",
				index === 0 ? services : "",
				backend,
				status.status === "up" ? "up" : `DOWN: ${status.error ?? "?"}`,
				status.target,
				`${status.latencyMs} ms`,
			]);
		});
	}
	return rows;
}
