/**
 * `npm start`: one node running the services named in SERVICES (all by default), configured from
 * the environment. With no TRANSPORTER and no URLs that is the whole platform in one process on
 * embedded backends.
 */
import { loadConfigOrExit } from "./load-config-or-exit";
import { createNode } from "./broker";
import { startHealthServer } from "./health-server";

async function main(): Promise<void> {
	const config = loadConfigOrExit();
	const startedAt = performance.now();
	const broker = createNode(config);
	await broker.start();
	const hasGateway = broker.services.some(svc => svc.name === "api");
	if (!hasGateway && config.healthPort) await startHealthServer(broker, config.healthPort, config.http.host);
	broker.logger.info(`Lootopia node ${broker.nodeID} ready in ${Math.round(performance.now() - startedAt)} ms` + (hasGateway ? ` — http://localhost:${config.http.port} (docs: /api/docs)` : ""));
}

main().catch(err => {
	// An expected refusal (the data folder is another process's) reads better without a stack.
	const expected = err instanceof Error && err.name === "EmbeddedDatabaseInUseError";
	process.stderr.write(`Start-up failed: ${err instanceof Error ? (expected ? err.message : (err.stack ?? err.message)) : String(err)}\n`);
	process.exit(1);
});
