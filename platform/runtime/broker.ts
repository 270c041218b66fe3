import { ServiceBroker } from "moleculer";
import type { AppConfig } from "../config/env";
import { buildBrokerOptions, NodeOptions } from "../../moleculer.config";
import { selectServices } from "../../services";
import { nodeBackends } from "./node-backends";

/** A broker with this node's services (per SERVICES) created but not started. */
export function createNode(config: AppConfig, overrides: Partial<ConstructorParameters<typeof ServiceBroker>[0]> = {}, node: NodeOptions = {}): ServiceBroker {
	const broker = new ServiceBroker({ ...buildBrokerOptions(config, node), ...overrides });
	for (const schema of selectServices({ config, backends: nodeBackends(broker) })) broker.createService(schema);
	return broker;
}
