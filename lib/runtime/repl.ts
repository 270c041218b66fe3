/**
 * `npm run repl`: with TRANSPORTER set, a service-less node joins the running cluster so operators
 * can inspect and call it (`cluster` shows every node's health). Without it, a local node with
 * every service starts, for poking at the embedded system.
 */
import { loadConfigOrExit } from "./load-config-or-exit";
import { createNode } from "./broker";

async function main(): Promise<void> {
	const config = loadConfigOrExit();
	const joinsCluster = Boolean(config.transporter);
	const broker = createNode(
		{ ...config, services: joinsCluster ? ["system"] : config.services, nodeId: config.nodeId ?? `repl-${process.pid}`, log: { ...config.log, level: joinsCluster ? "warn" : config.log.level } },
		{},
		// Joining a cluster, the REPL consumes no channel; with the embedded log it would also lock
		// the ./data database a local node may be using.
		{ channels: !joinsCluster || !config.channelsUrl.startsWith("embedded") },
	);
	await broker.start();
	broker.repl();
}

main().catch(err => {
	process.stderr.write(`REPL failed: ${err instanceof Error ? err.message : String(err)}\n`);
	process.exit(1);
});
