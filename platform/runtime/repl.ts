/**
 * `npm run repl`: with TRANSPORTER set, a service-less node joins the running cluster so operators
 * can inspect and call it (`cluster` shows every node's health). Without it, a local node with the
 * services but never the gateway starts, for poking at the embedded system; it refuses, naming the
 * holder, when a running `npm start` has the embedded database open (see platform/sql/folder-lock.ts).
 */
import { loadConfigOrExit } from "./load-config-or-exit";
import { createNode } from "./broker";
import { OperatorCallsMiddleware } from "./operator-token";
import { SERVICES } from "../../services";

/** The REPL serves no HTTP: a second gateway would answer beside (or instead of) the real one. */
export function replServices(requested: string[], joinsCluster: boolean): string[] {
	if (joinsCluster) return ["system"];
	const names = requested.includes("*") ? Object.keys(SERVICES) : requested;
	return names.filter(name => name !== "api");
}

async function main(): Promise<void> {
	const config = loadConfigOrExit();
	const joinsCluster = Boolean(config.transporter);
	const broker = createNode(
		{ ...config, services: replServices(config.services, joinsCluster), nodeId: config.nodeId ?? `repl-${process.pid}`, log: { ...config.log, level: joinsCluster ? "warn" : config.log.level } },
		{},
		// Joining a cluster, the REPL consumes no channel; with the embedded log it would also lock
		// the ./data database a local node may be using.
		{ channels: !joinsCluster || !config.channelsUrl.startsWith("embedded"), extraMiddlewares: [OperatorCallsMiddleware(config)] },
	);
	await broker.start();
	broker.repl();
}

if (require.main === module) {
	main().catch(err => {
		process.stderr.write(`REPL failed: ${err instanceof Error ? err.message : String(err)}\n`);
		process.exit(1);
	});
}
