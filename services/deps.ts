/**
 * What a service factory is given: the validated configuration and this node's backends (database
 * engines, the shared store, the signing ring, the readiness checks). Passed explicitly, so a
 * service's dependencies are visible in its factory's signature.
 */
import type { AppConfig } from "../platform/config/env";
import type { NodeBackends } from "../platform/runtime/node-backends";

export interface ServiceDeps {
	config: AppConfig;
	backends: NodeBackends;
}
