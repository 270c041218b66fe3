/**
 * Runs on every node: what this node is and whether its backends answer. The gateway's readiness
 * probe and the operators' REPL command read it; `GET /api/ping` gives clients the server clock,
 * which they need to timestamp location fixes the server will accept.
 */
import os from "node:os";
import { systemContract } from "../contracts/system";
import { defineService } from "../platform/moleculer/define-service";
import type { ServiceDeps } from "./deps";
import { NOTHING_TO_PROTECT } from "../platform/moleculer/breaker-policy";
import pkg from "../package.json";

const megabytes = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

export function createSystemService({ backends }: ServiceDeps) {
	return defineService(systemContract, {
		settings: { rest: "/" },
		actions: {
			ping: {
				rest: "GET /ping",
				// No access: only the gateway on this node calls it (a remote call is refused as local-only).
				openapi: { summary: "Reachability and the server clock", tags: ["system"], security: "none" },
				...NOTHING_TO_PROTECT,
				handler() {
					return { pong: true as const, serverTime: new Date().toISOString() };
				},
			},
			// Operators (the REPL's `cluster`) and admins ask every node; the probes read the backends directly.
			health: {
				visibility: "public",
				access: "admin",
				handler() {
					return backends.health();
				},
			},
			info: {
				visibility: "public",
				access: "admin",
				handler() {
					const memory = process.memoryUsage();
					return {
						nodeID: this.broker.nodeID,
						version: pkg.version,
						node: process.version,
						hostname: os.hostname(),
						uptimeSeconds: Math.round(process.uptime()),
						memory: { rssMb: megabytes(memory.rss), heapUsedMb: megabytes(memory.heapUsed) },
						services: this.broker.services
							.map(svc => svc.fullName)
							.filter(name => !name.startsWith("$"))
							.sort(),
					};
				},
			},
		},
	});
}
