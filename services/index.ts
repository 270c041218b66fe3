/**
 * Every service this build can run, by name. SERVICES picks some of them for a node; `system` runs
 * on every node because health and operator commands need it everywhere.
 */
import type { ServiceSchema } from "moleculer";
import { AppConfig, ConfigError } from "../platform/config/env";
import { createApiService } from "./api.service";
import { createSystemService } from "./system.service";
import { createAuthService } from "./auth.service";
import { createUsersService } from "./users.service";
import { createPartnersService } from "./partners.service";
import { createAuditService } from "./audit.service";

export const SERVICE_FACTORIES: Record<string, (config: AppConfig) => ServiceSchema> = {
	api: createApiService,
	system: createSystemService,
	auth: createAuthService,
	users: createUsersService,
	partners: createPartnersService,
	audit: createAuditService,
};

const ALWAYS_RUNNING = ["system"];

export function selectServices(config: AppConfig): ServiceSchema[] {
	const requested = config.services.includes("*") ? Object.keys(SERVICE_FACTORIES) : config.services;
	const unknown = requested.filter(name => !(name in SERVICE_FACTORIES));
	if (unknown.length) {
		throw new ConfigError({ SERVICES: `unknown service(s) ${unknown.join(", ")}; known: ${Object.keys(SERVICE_FACTORIES).join(", ")}` });
	}
	const names = [...new Set([...ALWAYS_RUNNING, ...requested])];
	return names.map(name => SERVICE_FACTORIES[name](config));
}
