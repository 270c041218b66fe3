import { clusterReportRows, gatherClusterReport, RegistryNode } from "./cluster-report";
import type { HealthReport } from "./node-backends";

const up = (nodeID: string): HealthReport => ({
	status: "up",
	nodeID,
	backends: { cache: { status: "up", target: "memory", latencyMs: 0 }, transporter: { status: "up", target: "nats://nats:4222", latencyMs: 1 } },
});

describe("cluster report", () => {
	const nodes: RegistryNode[] = [
		{ id: "b-core", available: true, local: false, services: [{ name: "system" }, { name: "$node" }] },
		{ id: "a-api", available: true, local: false, services: [{ name: "system" }, { name: "api" }] },
		{ id: "c-gone", available: false, local: false, services: [{ name: "system" }] },
		{ id: "d-old", available: true, local: false, services: [] },
	];

	it("asks every available node, in a stable order, and records failures instead of throwing", async () => {
		const asked: string[] = [];
		const report = await gatherClusterReport({
			nodes: () => nodes,
			health: async nodeID => {
				asked.push(nodeID);
				if (nodeID === "d-old") throw new Error("Service 'system.health' is not found");
				return up(nodeID);
			},
		});
		expect(report.map(n => n.nodeID)).toEqual(["a-api", "b-core", "c-gone", "d-old"]);
		expect(asked.sort()).toEqual(["a-api", "b-core", "d-old"]);
		expect(report[0].services).toEqual(["api", "system"]);
		expect(report[1].services).toEqual(["system"]);
		expect(report[3].healthError).toMatch(/not found/);
	});

	it("prints one row per backend, and says which node is offline or degraded", async () => {
		const report = await gatherClusterReport({
			nodes: () => nodes.slice(0, 3),
			health: async nodeID =>
				nodeID === "b-core" ? { ...up(nodeID), status: "down", backends: { cache: { status: "down", target: "redis://r:6379", latencyMs: 2000, error: "no answer within 2000 ms" } } } : up(nodeID),
		});
		const rows = clusterReportRows(report);
		expect(rows[0]).toEqual(["Node", "State", "Services", "Backend", "Status", "Target", "Latency"]);
		expect(rows[1].slice(0, 5)).toEqual(["a-api", "ready", "api, system", "cache", "up"]);
		expect(rows[2].slice(0, 5)).toEqual(["", "", "", "transporter", "up"]);
		expect(rows[3].slice(0, 5)).toEqual(["b-core", "degraded", "system", "cache", "DOWN: no answer within 2000 ms"]);
		expect(rows[4].slice(0, 2)).toEqual(["c-gone", "offline"]);
	});
});
