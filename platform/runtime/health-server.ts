import http from "node:http";
import type { ServiceBroker } from "moleculer";
import { nodeBackends } from "./node-backends";

/**
 * Nodes without the gateway still need probes for their orchestrator: the same /health/live and
 * /health/ready, on HEALTH_PORT. Closed with the broker.
 */
/** `host`: the gateway's interface (HOST), so development probes answer only this machine too. */
export function startHealthServer(broker: ServiceBroker, port: number, host?: string): Promise<http.Server> {
	const server = http.createServer(async (req, res) => {
		res.setHeader("Content-Type", "application/json; charset=utf-8");
		res.setHeader("Cache-Control", "no-store");
		if (req.method === "GET" && req.url === "/health/live") {
			res.end(JSON.stringify({ status: "up", nodeID: broker.nodeID, uptimeSeconds: Math.round(process.uptime()) }));
			return;
		}
		if (req.method === "GET" && req.url === "/health/ready") {
			const report = await nodeBackends(broker).health();
			res.statusCode = report.status === "up" ? 200 : 503;
			res.end(JSON.stringify(report));
			return;
		}
		res.statusCode = 404;
		res.end(JSON.stringify({ error: { code: "ROUTE_NOT_FOUND", message: "No such endpoint" } }));
	});
	const stop = broker.stop.bind(broker);
	broker.stop = async () => {
		server.close();
		return stop();
	};
	return new Promise(resolve => server.listen(port, host, () => resolve(server)));
}
