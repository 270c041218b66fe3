/**
 * Every service this build can run, by name, with its operator commands. SERVICES picks some of
 * them for a node; `system` runs on every node because health and operator commands need it
 * everywhere. A new service is one line here; moleculer.config.ts does not change.
 */
import type { ServiceSchema } from "moleculer";
import { ConfigError } from "../platform/config/env";
import type { ServiceDeps } from "./deps";
import type { ReplCommand } from "../platform/runtime/repl-kit";
import { auditReplCommands } from "./audit.repl";
import { authReplCommands } from "./auth.repl";
import { systemReplCommands } from "./system.repl";
import { huntsReplCommands } from "./hunts.repl";
import { createApiService } from "./api.service";
import { liveReplCommands } from "./api.repl";
import { createSystemService } from "./system.service";
import { createAuthService } from "./auth.service";
import { createUsersService } from "./users.service";
import { createPartnersService } from "./partners.service";
import { createAuditService } from "./audit.service";
import { createHuntsService } from "./hunts.service";
import { createGeoService } from "./geo.service";
import { createGameplayService } from "./gameplay.service";
import { gameplayReplCommands } from "./gameplay.repl";
import { createLeaderboardsService } from "./leaderboards.service";
import { leaderboardsReplCommands } from "./leaderboards.repl";
import { createAnalyticsService } from "./analytics.service";
import { analyticsReplCommands } from "./analytics.repl";
import { createRewardsService } from "./rewards.service";
import { rewardsReplCommands } from "./rewards.repl";
import { createNotificationsService } from "./notifications.service";
import { notificationsReplCommands } from "./notifications.repl";

interface ServiceEntry {
	create(deps: ServiceDeps): ServiceSchema;
	/** services/<name>.repl.ts: they call actions, so a REPL anywhere in the cluster may offer them. */
	replCommands?: readonly ReplCommand[];
}

export const SERVICES: Record<string, ServiceEntry> = {
	api: { create: createApiService, replCommands: liveReplCommands },
	system: { create: createSystemService, replCommands: systemReplCommands },
	auth: { create: createAuthService, replCommands: authReplCommands },
	users: { create: createUsersService },
	partners: { create: createPartnersService },
	audit: { create: createAuditService, replCommands: auditReplCommands },
	hunts: { create: createHuntsService, replCommands: huntsReplCommands },
	geo: { create: createGeoService },
	gameplay: { create: createGameplayService, replCommands: gameplayReplCommands },
	leaderboards: { create: createLeaderboardsService, replCommands: leaderboardsReplCommands },
	analytics: { create: createAnalyticsService, replCommands: analyticsReplCommands },
	rewards: { create: createRewardsService, replCommands: rewardsReplCommands },
	notifications: { create: createNotificationsService, replCommands: notificationsReplCommands },
};

/** Every service's operator commands, for moleculer-repl (broker option `replOptions.customCommands`). */
export const REPL_COMMANDS: readonly ReplCommand[] = Object.values(SERVICES).flatMap(service => service.replCommands ?? []);

const ALWAYS_RUNNING = ["system"];

/** The node's services per SERVICES, each given the node's configuration and backends. */
export function selectServices(deps: ServiceDeps): ServiceSchema[] {
	const { config } = deps;
	const requested = config.services.includes("*") ? Object.keys(SERVICES) : config.services;
	const unknown = requested.filter(name => !(name in SERVICES));
	if (unknown.length) {
		throw new ConfigError({ SERVICES: `unknown service(s) ${unknown.join(", ")}; known: ${Object.keys(SERVICES).join(", ")}` });
	}
	const names = [...new Set([...ALWAYS_RUNNING, ...requested])];
	return names.map(name => SERVICES[name].create(deps));
}
