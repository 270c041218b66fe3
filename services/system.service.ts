/**
 * Runs on every node: what this node is and whether its backends answer. The gateway's readiness
 * probe and the operators' REPL command read it; `GET /api/ping` gives clients the server clock,
 * which they need to timestamp location fixes the server will accept.
 */
import os from "node:os";
import type { Context, ServiceSchema } from "moleculer";
import { defineService } from "../platform/moleculer/define-service";
import type { HealthReport } from "../platform/runtime/node-backends";
import { nodeBackends } from "../platform/runtime/node-backends";
import pkg from "../package.json";

export interface NodeInfo {
	nodeID: string;
	version: string;
	node: string;
	hostname: string;
	uptimeSeconds: number;
	memory: { rssMb: number; heapUsedMb: number };
	services: string[];
}

export interface PingResult {
	pong: true;
	serverTime: string;
}

const megabytes = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

export function createSystemService(): ServiceSchema {
	return defineService({
		name: "system",
		settings: { rest: "/" },
		actions: {
			ping: {
				rest: "GET /ping",
				openapi: {
					summary: "Reachability and the server clock",
					tags: ["system"],
					security: "none",
					response: { type: "object", required: ["pong", "serverTime"], properties: { pong: { type: "boolean", const: true }, serverTime: { type: "string", format: "date-time" } } },
				},
				handler(): PingResult {
					return { pong: true, serverTime: new Date().toISOString() };
				},
			},
			// Operators (the REPL's `cluster`) and admins ask every node; the probes read the backends directly.
			health: {
				visibility: "public",
				access: "admin",
				handler(this: any): Promise<HealthReport> {
					return nodeBackends(this.broker).health();
				},
			},
			info: {
				visibility: "public",
				access: "admin",
				handler(this: any, _ctx: Context): NodeInfo {
					const memory = process.memoryUsage();
					return {
						nodeID: this.broker.nodeID,
						version: pkg.version,
						node: process.version,
						hostname: os.hostname(),
						uptimeSeconds: Math.round(process.uptime()),
						memory: { rssMb: megabytes(memory.rss), heapUsedMb: megabytes(memory.heapUsed) },
						services: this.broker.services
							.map((svc: { fullName: string }) => svc.fullName)
							.filter((name: string) => !name.startsWith("$"))
							.sort(),
					};
				},
			},
		},
	});
}
