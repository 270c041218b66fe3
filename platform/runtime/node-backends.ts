/**
 * What one node is connected to, and whether each of those is healthy. Services get their database
 * and the shared store from here (so a node opens each engine once), and the readiness probe asks
 * here which backends this node depends on.
 */
import type { ServiceBroker } from "moleculer";
import type { AppConfig } from "../config/env";
import { loadConfig, redactUrl } from "../config/env";
import { acquireDatabase, DatabaseLease, embeddedDatabaseDir, Migration, runMigrations, SqlClient } from "../sql";
import { PLATFORM_MIGRATION_TRACK, PLATFORM_MIGRATIONS } from "../outbox/tables";
import { loadSigningKeys } from "../identity/key-store";
import type { KeyRing } from "../identity/tokens";
import { createStore } from "../store";
import type { KeyValueStore } from "../store/types";
import type { BackendReport, HealthReport } from "../../contracts/system";

export type { BackendReport, HealthReport } from "../../contracts/system";

interface BackendCheck {
	target: string;
	check(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class NodeBackends {
	private readonly leases = new Map<string, Promise<DatabaseLease>>();
	private markStarted!: () => void;
	/**
	 * Resolves once the broker has fully started: every service, then the middlewares' own start
	 * (the channels connect and subscribe there, after `$broker.started`).
	 */
	readonly started = new Promise<void>(resolve => (this.markStarted = resolve));
	private fullyStarted = false;
	private store?: KeyValueStore;
	private ring?: Promise<KeyRing>;
	private readonly checks = new Map<string, BackendCheck>();

	constructor(
		private readonly broker: ServiceBroker,
		readonly config: AppConfig,
		options: { channels?: boolean } = {},
	) {
		const withChannels = options.channels ?? true;
		// Moleculer calls options.started after the middlewares' started hooks: the last step of start().
		const previous = broker.options.started;
		broker.options.started = async (started: ServiceBroker) => {
			if (typeof previous === "function") await previous(started);
			this.fullyStarted = true;
			this.markStarted();
		};
		// Attached to a broker that had already started (a test wiring one by hand): nothing to wait for.
		if (broker.started) {
			this.fullyStarted = true;
			this.markStarted();
		}
		// Not ready while starting (consumers still subscribing) or once stopping.
		this.checks.set("broker", {
			target: broker.nodeID,
			check: async () => {
				if (!this.fullyStarted || !broker.started) throw new Error(broker.started ? "still starting" : "not started, or stopping");
			},
		});
		if (config.transporter) {
			this.checks.set("transporter", {
				target: redactUrl(config.transporter),
				check: async () => {
					if (!broker.transit?.connected) throw new Error("not connected");
				},
			});
		}
		this.checks.set("cache", {
			target: config.cacheUrl.startsWith("redis") ? redactUrl(config.cacheUrl) : "memory",
			check: async () => {
				const client = (broker.cacher as unknown as { client?: { ping(): Promise<unknown> } } | null)?.client;
				if (client) await client.ping();
			},
		});
		if (withChannels && config.channelsUrl.startsWith("embedded")) {
			// The embedded channel log lives in the default database, so this node depends on it.
			this.checks.set("database", { target: config.databaseUrl ? redactUrl(config.databaseUrl) : "embedded", check: () => this.database("channels").then(client => client.ping()) });
		}
		if (withChannels)
			this.checks.set("channels", {
				target: config.channelsUrl.startsWith("embedded") ? "embedded (service database)" : redactUrl(config.channelsUrl),
				check: async () => {
					const adapter = (broker as unknown as { channelAdapter?: { connected?: boolean } }).channelAdapter;
					if (!adapter?.connected) throw new Error("not connected");
				},
			});
	}

	/**
	 * The service's database, migrated to its newest version. Services in one process that point at
	 * the same target share one engine; each owns a schema named after it, holding the platform's
	 * tables (outbox, inbox, idempotency keys) beside its own.
	 */
	async database(service: string, migrations: readonly Migration[] = []): Promise<SqlClient> {
		const url = this.config.databaseUrlFor(service);
		const key = url ?? "embedded";
		let lease = this.leases.get(service);
		if (!lease) {
			lease = acquireDatabase(url ? { url, poolSize: this.config.databasePoolSize } : { dataDir: embeddedDatabaseDir(this.config.dataDir) });
			this.leases.set(service, lease);
			lease.catch(() => this.leases.delete(service));
		}
		const { client } = await lease;
		if (migrations.length) {
			// The platform's first: a service migration may move rows into the outbox.
			await runMigrations(client, service, PLATFORM_MIGRATIONS, PLATFORM_MIGRATION_TRACK);
			await runMigrations(client, service, migrations);
		}
		const checkName = this.databaseCheckName(key);
		if (!this.checks.has(checkName)) {
			this.checks.set(checkName, { target: url ? redactUrl(url) : "embedded", check: () => client.ping() });
		}
		return client;
	}

	private databaseCheckName(key: string): string {
		const defaultKey = this.config.databaseUrl ?? "embedded";
		return key === defaultKey ? "database" : `database:${redactUrl(key)}`;
	}

	/**
	 * The private signing ring this node signs with (machine tokens, channel messages): AUTH_KEYS_FILE,
	 * or a development ring under DATA_DIR. A production node without the file has none, rather than
	 * invent one that nobody can verify.
	 */
	signingRing(): Promise<KeyRing> {
		if (this.config.isProduction && !this.config.auth.keysFile) return Promise.reject(new Error("This node holds no signing key (AUTH_KEYS_FILE)"));
		this.ring ??= loadSigningKeys(this.config.auth, this.config.dataDir).catch(err => {
			this.ring = undefined;
			throw err;
		});
		return this.ring;
	}

	/** The key-value/geo/sorted-set store, created on first use. */
	keyValueStore(): KeyValueStore {
		if (this.store) return this.store;
		const store = createStore({ url: this.config.storeUrl, keyPrefix: `${this.config.namespace}:` });
		this.store = store;
		this.checks.set("store", { target: this.config.storeUrl.startsWith("redis") ? redactUrl(this.config.storeUrl) : "memory", check: () => store.ping() });
		return store;
	}

	async health(): Promise<HealthReport> {
		const entries = await Promise.all(
			[...this.checks.entries()].map(async ([name, { target, check }]) => {
				const started = performance.now();
				try {
					await withTimeout(check(), CHECK_TIMEOUT_MS);
					return [name, { status: "up", target, latencyMs: Math.round(performance.now() - started) }] as const;
				} catch (err) {
					return [name, { status: "down", target, latencyMs: Math.round(performance.now() - started), error: (err as Error).message }] as const;
				}
			}),
		);
		const backends = Object.fromEntries(entries) as Record<string, BackendReport>;
		const status = Object.values(backends).every(b => b.status === "up") ? "up" : "down";
		return { status, nodeID: this.broker.nodeID, backends };
	}

	async close(): Promise<void> {
		const leases = [...this.leases.values()];
		this.leases.clear();
		await Promise.all(leases.map(lease => lease.then(l => l.release()).catch(() => undefined)));
		await this.store?.close();
		this.store = undefined;
	}
}

const registry = new WeakMap<ServiceBroker, NodeBackends>();

export function attachNodeBackends(broker: ServiceBroker, config: AppConfig, options: { channels?: boolean } = {}): NodeBackends {
	const backends = new NodeBackends(broker, config, options);
	registry.set(broker, backends);
	return backends;
}

/** The node's backends; a broker built without our options gets them from the environment. */
export function nodeBackends(broker: ServiceBroker): NodeBackends {
	return registry.get(broker) ?? attachNodeBackends(broker, loadConfig());
}
