/**
 * Broker options for every Lootopia node, derived from the validated environment (platform/config/env.ts).
 * Start a node with `npm start`; which services it runs comes from SERVICES, which nodes it sees
 * from TRANSPORTER. Everything here has a safe single-process default.
 */
import type { BrokerOptions, CacherConfig, Errors, Middleware, TransporterConfig } from "moleculer";
import type { AppConfig } from "./platform/config/env";
import { createChannelsMiddleware } from "./platform/channels";
import { embeddedDatabaseDir } from "./platform/sql";
import { attachNodeBackends, nodeBackends } from "./platform/runtime/node-backends";
import { REPL_COMMANDS } from "./services";
import { internalMiddlewares } from "./platform/moleculer/middlewares";
import { isInfrastructureFailure } from "./platform/moleculer/breaker-policy";
import { ChannelSecurityMiddleware } from "./platform/moleculer/channel-security";

export interface NodeOptions {
	/** A REPL that merely joins a cluster consumes nothing and must not open the embedded database. */
	channels?: boolean;
	/** Channel adapter tuning (poll interval, retry delays), for tests that need fast redelivery. */
	channelAdapterOptions?: Record<string, unknown>;
	/** Middlewares of this kind of node only (the REPL's operator calls), outside ours. */
	extraMiddlewares?: Middleware[];
}

export function buildBrokerOptions(config: AppConfig, node: NodeOptions = {}): BrokerOptions {
	const withChannels = node.channels ?? true;
	return {
		namespace: config.namespace,
		nodeID: config.nodeId,

		// No transporter: every service in this process. nats://… joins a cluster.
		// Moleculer accepts a URL string here; its typings only list names and objects.
		transporter: config.transporter as unknown as TransporterConfig | undefined,
		serializer: config.serializer,

		logger: {
			type: "Console",
			options: {
				formatter: config.log.format === "json" ? "json" : "short",
				colors: config.log.format === "pretty",
				moduleColors: config.log.format === "pretty",
				autoPadding: false,
			},
		},
		logLevel: config.log.level,

		// Memory unless REDIS_URL/CACHE_URL points at Redis; then nodes share cached results.
		cacher: config.cacheUrl.startsWith("redis")
			? ({ type: "Redis", options: { prefix: `${config.namespace}-cache`, redis: config.cacheUrl, ttl: 300 } } as unknown as CacherConfig)
			: // Bounded, since searches fill it with a public view per hunt they show. No default ttl: every
				// entry sets its own, and a default one turns on lru-cache's updateAgeOnGet, which keeps an
				// entry read often alive past its ttl.
				{ type: "MemoryLRU", options: { max: 20_000, clone: false } },

		requestTimeout: config.requestTimeoutMs,
		// Retry only what Moleculer marks retryable (timeouts, unavailable services, node loss):
		// a 4xx or a business refusal is never repeated.
		retryPolicy: {
			enabled: config.retries > 0,
			retries: config.retries,
			delay: 100,
			maxDelay: 1000,
			factor: 2,
			check: (err: Error) => Boolean((err as Errors.MoleculerRetryableError).retryable),
		},
		// Trips on infrastructure failures only (platform/moleculer/breaker-policy.ts): what a request sent,
		// even a bug it triggers, says nothing about the health of what serves it.
		circuitBreaker: {
			enabled: config.circuitBreaker,
			threshold: 0.5,
			minRequestCount: 20,
			windowTime: 60,
			halfOpenTime: 10_000,
			check: isInfrastructureFailure,
		},
		bulkhead: {
			enabled: config.bulkhead.concurrency > 0,
			concurrency: config.bulkhead.concurrency,
			maxQueueSize: config.bulkhead.maxQueueSize,
		},
		// Graceful shutdown: on SIGTERM the broker waits for in-flight requests before it exits.
		tracking: { enabled: true, shutdownTimeout: config.shutdownTimeoutMs },

		registry: { strategy: "RoundRobin", preferLocal: true },
		validator: true,

		metrics: {
			enabled: config.metrics.enabled,
			// Histograms keep their buckets only; Prometheus derives quantiles from them
			// (histogram_quantile over the _bucket series). Moleculer's in-process quantiles keep every
			// sample of the last minute and sort them all at each scrape: 280 ms with the event loop
			// held, after 30 s of load. Null (not an empty list, which still keeps the samples) is what
			// turns them off; the typings do not say so.
			defaultQuantiles: null as unknown as number[],
			reporter: [
				{
					type: "Prometheus",
					options: { port: config.metrics.port, path: "/metrics", defaultLabels: () => ({ namespace: config.namespace, nodeID: config.nodeId ?? "" }) },
				},
			],
		},
		tracing: {
			enabled: config.tracing.exporter !== "none",
			sampling: { rate: config.tracing.sampleRate },
			exporter:
				config.tracing.exporter === "zipkin"
					? [{ type: "Zipkin", options: { baseURL: config.tracing.endpoint } }]
					: config.tracing.exporter === "none"
						? []
						: [{ type: config.tracing.exporter === "console" ? "Console" : "Event" }],
		},

		// Registered in platform/moleculer/middlewares.ts so the gateway's forwarding action skips the
		// ones its target action applies anyway.
		internalMiddlewares: false,
		middlewares: [
			withChannels &&
				createChannelsMiddleware({
					url: config.channelsUrl,
					database: config.databaseUrl ? { url: config.databaseUrl, poolSize: config.databasePoolSize } : { dataDir: embeddedDatabaseDir(config.dataDir) },
					namespace: config.namespace,
					adapterOptions: node.channelAdapterOptions,
				}),
			withChannels && ChannelSecurityMiddleware(),
			...internalMiddlewares(),
			...(node.extraMiddlewares ?? []),
		].filter(Boolean) as BrokerOptions["middlewares"],

		// Moleculer types command args as string[]; moleculer-repl passes the parsed object our commands read.
		replOptions: { customCommands: [...REPL_COMMANDS] as unknown as NonNullable<BrokerOptions["replOptions"]>["customCommands"] },

		created(broker) {
			attachNodeBackends(broker, config, { channels: withChannels });
		},
		async stopped(broker) {
			await nodeBackends(broker).close();
		},
	};
}
