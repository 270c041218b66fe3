/**
 * The one place that reads the environment. Every variable is declared here with its type, a safe
 * default and a description (the README table is checked against this list by a test), and an
 * invalid value stops start-up with a message naming the variable.
 *
 * `devDefault` values apply outside production only: production must be configured explicitly
 * wherever a default would be a secret or would silently keep data in a container's filesystem.
 */
import { bool, cleanEnv, makeValidator, num, port, str, EnvError, EnvMissingError } from "envalid";

export class ConfigError extends Error {
	constructor(readonly problems: Record<string, string>) {
		super(
			`Invalid configuration:\n${Object.entries(problems)
				.map(([name, problem]) => `  ${name}: ${problem}`)
				.join("\n")}`,
		);
		this.name = "ConfigError";
	}
}

/** A URL whose scheme must be one of `schemes`; the empty string means "not configured". */
function parseUrlWithScheme(input: string, schemes: readonly string[]): string {
	if (input === "") return "";
	let parsed: URL;
	try {
		parsed = new URL(input);
	} catch {
		throw new Error(`"${redact(input)}" is not a URL`);
	}
	const scheme = parsed.protocol.replace(/:$/, "");
	if (!schemes.includes(scheme)) throw new Error(`scheme "${scheme}" is not one of ${schemes.join(", ")}`);
	return input;
}

const urlWithScheme = (schemes: readonly string[]) => makeValidator<string>(input => parseUrlWithScheme(input, schemes));

/** Comma-separated list, trimmed, empties dropped. */
const list = makeValidator<string[]>(input =>
	input
		.split(",")
		.map(item => item.trim())
		.filter(Boolean),
);

const positiveInt = makeValidator<number>(input => {
	const value = Number(input);
	if (!Number.isInteger(value) || value < 0) throw new Error(`"${input}" is not a non-negative integer`);
	return value;
});

/** "1mb", "100kb", "512" (bytes) — the body size limit format body-parser understands. */
const byteSize = makeValidator<string>(input => {
	if (!/^\d+(b|kb|mb)?$/i.test(input.trim())) throw new Error(`"${input}" is not a size like 512kb or 1mb`);
	return input.trim().toLowerCase();
});

/** TRANSPORTER: empty for a single process, or a transporter URL Moleculer understands. */
const transporter = makeValidator<string>(input => {
	if (input === "" || input === "none") return "";
	if (input === "TCP" || input === "tcp") return "TCP";
	return parseUrlWithScheme(input, ["nats", "redis", "rediss", "tcp", "amqp", "amqps", "mqtt", "kafka"]);
});

/** A URL fit for logs, health output and error messages: its password (if any) replaced by ***. */
function redact(url: string): string {
	return url.replace(/\/\/([^:@/]*):([^@/]*)@/, "//$1:***@");
}

const ENV_SPEC = {
	NODE_ENV: str({ choices: ["development", "production", "test"], default: "development", desc: "development: readable logs and generated dev keys; production: JSON logs, explicit config required" }),
	NODE_ID: str({ default: "", desc: "Moleculer node id; defaults to hostname-pid" }),
	NAMESPACE: str({ default: "lootopia", desc: "Moleculer namespace: nodes only see nodes of the same namespace" }),
	SERVICES: list({ default: ["*"], desc: "Comma-separated services this node runs, or * for all" }),

	TRANSPORTER: transporter({ default: "", desc: "Empty: one process. nats://host:4222 (recommended), redis://, tcp, amqp:// for a cluster" }),
	SERIALIZER: str({ choices: ["JSON", "JSONExt", "MsgPack", "Notepack", "CBOR"], default: "JSON", desc: "Wire format between nodes" }),
	REQUEST_TIMEOUT_MS: positiveInt({ default: 10_000, desc: "Default action call timeout (0 disables)" }),
	RETRIES: positiveInt({ default: 2, desc: "Retries of a failed remote call that is marked retryable" }),
	CIRCUIT_BREAKER: bool({ default: true, desc: "Open a circuit to an endpoint whose calls keep failing" }),
	BULKHEAD_CONCURRENCY: positiveInt({ default: 100, desc: "Concurrent executions of one action per node; 0 disables the bulkhead" }),
	BULKHEAD_MAX_QUEUE: positiveInt({ default: 1000, desc: "Calls queued above the concurrency limit before 429 QUEUE_FULL" }),
	SHUTDOWN_TIMEOUT_MS: positiveInt({ default: 10_000, desc: "On SIGTERM, how long in-flight requests may finish before exit" }),

	CACHE_URL: urlWithScheme(["memory", "redis", "rediss"])({ default: "", desc: "Action cache: memory (default) or redis://; falls back to REDIS_URL" }),
	STORE_URL: urlWithScheme(["memory", "redis", "rediss"])({ default: "", desc: "Key-value/geo/leaderboard store: memory (default) or redis://; falls back to REDIS_URL" }),
	REDIS_URL: urlWithScheme(["redis", "rediss"])({ default: "", desc: "One switch for every Redis-backed adapter (cache, store, rate limits)" }),

	DATA_DIR: str({ default: "./data", desc: "Where the embedded database and development keys live" }),
	DATABASE_URL: urlWithScheme(["postgres", "postgresql"])({
		default: "",
		desc: "PostgreSQL for every service; empty uses embedded PGlite under DATA_DIR. <SERVICE>_DATABASE_URL overrides per service",
	}),
	DATABASE_POOL_SIZE: positiveInt({ default: 10, desc: "Connections per PostgreSQL pool" }),

	CHANNELS_URL: urlWithScheme(["embedded", "redis", "rediss", "nats", "kafka"])({
		default: "",
		desc: "Durable events: empty uses the SQL-backed log in the service database; redis://, nats:// (JetStream) or kafka://host:9092",
	}),
	OUTBOX_POLL_MS: positiveInt({ default: 1000, desc: "How often each service's outbox relay looks for messages nobody woke it for (another node's leftovers, retries)" }),
	OUTBOX_LEASE_SECONDS: positiveInt({ default: 60, desc: "How long a relay holds the messages it is sending; if its node dies, another relay sends them after this" }),
	NEO4J_URL: urlWithScheme(["bolt", "neo4j", "neo4j+s", "bolt+s"])({ default: "", desc: "Neo4j for the clue graph (later issue); empty keeps it in SQL" }),
	OPENSEARCH_URL: urlWithScheme(["http", "https"])({ default: "", desc: "OpenSearch for audit and hunt search (indexed there too, SQL stays the truth); empty searches in SQL" }),

	HOST: str({ default: "", desc: "Interface the HTTP gateway listens on" }),
	PORT: port({ default: 3000, desc: "HTTP gateway port (api service)" }),
	HEALTH_PORT: num({ default: 0, desc: "Health endpoints on nodes without the gateway (0: off)" }),
	CORS_ORIGINS: list({ default: [], devDefault: ["*"], desc: "Allowed browser origins, comma-separated; * allows any (development default)" }),
	BODY_LIMIT: byteSize({ default: "256kb", desc: "Largest accepted request body" }),
	TRUST_PROXY: list({ default: [], desc: "Proxy addresses whose X-Forwarded-For is believed; empty trusts none" }),
	GATEWAY_LEAN_ROUTES: bool({
		default: true,
		desc: "Serve requests to fixed-path action routes without moleculer-web's per-request routing (same features, less CPU); false sends every request its way",
	}),

	LIVE_HEARTBEAT_SECONDS: positiveInt({ default: 15, desc: "Seconds between heartbeats on live notification connections (an SSE comment, a WebSocket ping a client must answer)" }),
	LIVE_MAX_CONNECTIONS_PER_USER: positiveInt({ default: 5, desc: "Live notification connections one user may hold on one gateway node; one more is refused with 429 TOO_MANY_CONNECTIONS" }),
	LIVE_MAX_CONNECTIONS: positiveInt({ default: 20_000, desc: "Live notification connections one gateway node holds at most; one more is refused with 503 LIVE_CAPACITY_REACHED" }),
	LIVE_SESSION_CHECK_SECONDS: positiveInt({ default: 5, desc: "How often each gateway node checks its live connections' sessions against the revoked ones and their tokens' expiry" }),

	PLAY_CLOSING_SWEEP_SECONDS: positiveInt({
		default: 30,
		desc: "How often each gameplay node closes participations whose time ran out while idle (those that play are closed at once); 0: never",
	}),

	RATE_LIMIT_PER_MINUTE: positiveInt({ default: 600, desc: "Requests per minute one client address may make through the gateway (0: off); counted in the shared store" }),

	REGISTRATIONS_PER_HOUR: positiveInt({ default: 20, desc: "Registration attempts one client address may make per hour (0: no limit); slows down account farming and email probing" }),
	AUTH_KEYS_FILE: str({
		default: "",
		desc: "JSON file with the token signing keys (newest signs, older still verify). Required in production where auth runs; in development one is generated under DATA_DIR/keys",
	}),
	AUTH_PUBLIC_KEYS_FILE: str({
		default: "",
		desc: "JSON JWK set of the token verification keys, for nodes without AUTH_KEYS_FILE: they then never take keys from the cluster. Required in production on such nodes",
	}),
	ACCESS_TOKEN_TTL_SECONDS: positiveInt({ default: 900, desc: "Lifetime of an access token" }),
	REFRESH_TOKEN_TTL_DAYS: positiveInt({ default: 30, desc: "Lifetime of a session (refresh-token family) without use" }),
	TOKEN_ISSUER: str({ default: "lootopia", desc: "iss of access tokens; verifiers accept only this" }),
	ADMIN_EMAIL: str({ default: "", desc: "With ADMIN_PASSWORD: account created or promoted to admin when the auth service starts" }),
	ADMIN_PASSWORD: str({ default: "", desc: "Password for a newly created ADMIN_EMAIL account (an existing account keeps its own)" }),

	LOG_LEVEL: str({ choices: ["fatal", "error", "warn", "info", "debug", "trace"], default: "info", desc: "Log level" }),
	LOG_FORMAT: str({ choices: ["pretty", "json"], default: "json", devDefault: "pretty", desc: "pretty for people, json for log shippers (production default)" }),
	METRICS_ENABLED: bool({ default: false, desc: "Expose Prometheus metrics on METRICS_PORT/metrics" }),
	METRICS_PORT: port({ default: 3030, desc: "Prometheus scrape port" }),
	TRACING_EXPORTER: str({ choices: ["none", "console", "event", "zipkin"], default: "none", desc: "Tracing exporter; zipkin sends spans to TRACING_ENDPOINT" }),
	TRACING_ENDPOINT: str({ default: "", desc: "Zipkin collector base URL" }),
	TRACING_SAMPLE_RATE: num({ default: 1, desc: "Share of requests traced, 0 to 1 (0.01: one in a hundred); tracing every request costs about as much as the rest of the gateway" }),
};

/** Every variable the platform reads (plus <SERVICE>_DATABASE_URL overrides); the README documents each. */
export const ENVIRONMENT_VARIABLES = Object.keys(ENV_SPEC);

export function loadConfig(source: NodeJS.ProcessEnv = process.env) {
	const problems: Record<string, string> = {};
	// envalid applies devDefault only when NODE_ENV is set: unset means development here.
	const env = cleanEnv({ ...source, NODE_ENV: source.NODE_ENV || "development" }, ENV_SPEC, {
		reporter: ({ errors }) => {
			for (const [name, error] of Object.entries(errors)) {
				problems[name] = error instanceof EnvMissingError ? "is required in production" : (error as EnvError).message;
			}
		},
	});
	// Only the node that signs tokens needs the private keys; others fetch the public ones.
	const signsTokens = env.SERVICES?.includes("*") || env.SERVICES?.includes("auth");
	if (env.NODE_ENV === "production" && signsTokens && !env.AUTH_KEYS_FILE)
		problems.AUTH_KEYS_FILE = "is required in production on nodes running the auth service (create one with `npm run keys -- <file>`)";
	// A verifying node that asked the cluster for keys would believe whoever answered as `auth`.
	const verifiesTokens = env.SERVICES?.some(name => name !== "system");
	if (env.NODE_ENV === "production" && verifiesTokens && !signsTokens && !env.AUTH_KEYS_FILE && !env.AUTH_PUBLIC_KEYS_FILE) {
		problems.AUTH_PUBLIC_KEYS_FILE = "is required in production on nodes without AUTH_KEYS_FILE (`npm run keys` writes it beside the key ring)";
	}
	// Logouts, revocations and limits must be seen by every node, which an in-memory store is not.
	if (env.NODE_ENV === "production" && env.TRANSPORTER && !(env.STORE_URL || env.REDIS_URL).startsWith("redis")) {
		problems.STORE_URL = "must be a shared redis:// store (or set REDIS_URL) in a production cluster: revocations and rate limits would otherwise be per node";
	}
	if (Boolean(env.ADMIN_EMAIL) !== Boolean(env.ADMIN_PASSWORD)) problems[env.ADMIN_EMAIL ? "ADMIN_PASSWORD" : "ADMIN_EMAIL"] = "ADMIN_EMAIL and ADMIN_PASSWORD go together";
	for (const name of ["LIVE_HEARTBEAT_SECONDS", "LIVE_MAX_CONNECTIONS_PER_USER", "LIVE_SESSION_CHECK_SECONDS"] as const) if (env[name] < 1) problems[name] = "must be at least 1";
	if (!(env.TRACING_SAMPLE_RATE >= 0 && env.TRACING_SAMPLE_RATE <= 1)) problems.TRACING_SAMPLE_RATE = "must be between 0 and 1";
	if (env.ACCESS_TOKEN_TTL_SECONDS < 30 || env.ACCESS_TOKEN_TTL_SECONDS > 3600) problems.ACCESS_TOKEN_TTL_SECONDS = "must be between 30 and 3600 seconds";
	if (Object.keys(problems).length) throw new ConfigError(problems);

	const redisUrl = env.REDIS_URL;
	const perServiceDatabaseUrl = (service: string): string => {
		const name = `${service.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_DATABASE_URL`;
		const override = source[name];
		if (override === undefined || override === "") return env.DATABASE_URL;
		try {
			return parseUrlWithScheme(override, ["postgres", "postgresql"]);
		} catch (err) {
			throw new ConfigError({ [name]: (err as Error).message });
		}
	};

	return {
		env: env.NODE_ENV as "development" | "production" | "test",
		isProduction: env.NODE_ENV === "production",
		nodeId: env.NODE_ID || undefined,
		namespace: env.NAMESPACE,
		services: env.SERVICES,
		transporter: env.TRANSPORTER || undefined,
		serializer: env.SERIALIZER as "JSON" | "JSONExt" | "MsgPack" | "Notepack" | "CBOR",
		requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
		retries: env.RETRIES,
		circuitBreaker: env.CIRCUIT_BREAKER,
		bulkhead: { concurrency: env.BULKHEAD_CONCURRENCY, maxQueueSize: env.BULKHEAD_MAX_QUEUE },
		shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
		cacheUrl: env.CACHE_URL || redisUrl || "memory://",
		storeUrl: env.STORE_URL || redisUrl || "memory://",
		redisUrl: redisUrl || undefined,
		dataDir: env.DATA_DIR,
		databaseUrl: env.DATABASE_URL || undefined,
		databaseUrlFor: (service: string) => perServiceDatabaseUrl(service) || undefined,
		databasePoolSize: env.DATABASE_POOL_SIZE,
		channelsUrl: env.CHANNELS_URL || "embedded://",
		outbox: { pollIntervalMs: Math.max(50, env.OUTBOX_POLL_MS), leaseMs: Math.max(1, env.OUTBOX_LEASE_SECONDS) * 1000 },
		neo4jUrl: env.NEO4J_URL || undefined,
		opensearchUrl: env.OPENSEARCH_URL || undefined,
		http: {
			// Development runs with development keys and open CORS: only this machine may reach it unless
			// HOST says otherwise. Production (containers) listens on every interface.
			host: env.HOST || (env.NODE_ENV === "production" ? "0.0.0.0" : "127.0.0.1"),
			port: env.PORT,
			corsOrigins: env.CORS_ORIGINS,
			bodyLimit: env.BODY_LIMIT,
			trustProxy: env.TRUST_PROXY,
			leanRoutes: env.GATEWAY_LEAN_ROUTES,
		},
		rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
		live: {
			heartbeatMs: env.LIVE_HEARTBEAT_SECONDS * 1000,
			maxPerUser: env.LIVE_MAX_CONNECTIONS_PER_USER,
			maxConnections: env.LIVE_MAX_CONNECTIONS,
			sessionCheckMs: env.LIVE_SESSION_CHECK_SECONDS * 1000,
		},
		play: { closingSweepMs: env.PLAY_CLOSING_SWEEP_SECONDS * 1000 },
		auth: {
			/** Empty in development: the auth service keeps generated keys under DATA_DIR/keys. */
			keysFile: env.AUTH_KEYS_FILE || undefined,
			publicKeysFile: env.AUTH_PUBLIC_KEYS_FILE || undefined,
			issuer: env.TOKEN_ISSUER,
			audience: "lootopia-api",
			accessTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
			refreshTtlSeconds: env.REFRESH_TOKEN_TTL_DAYS * 86_400,
			registrationsPerHour: env.REGISTRATIONS_PER_HOUR,
			admin: env.ADMIN_EMAIL ? { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD } : undefined,
		},
		healthPort: env.HEALTH_PORT,
		log: { level: env.LOG_LEVEL as "fatal" | "error" | "warn" | "info" | "debug" | "trace", format: env.LOG_FORMAT as "pretty" | "json" },
		metrics: { enabled: env.METRICS_ENABLED, port: env.METRICS_PORT },
		tracing: { exporter: env.TRACING_EXPORTER as "none" | "console" | "event" | "zipkin", endpoint: env.TRACING_ENDPOINT || undefined, sampleRate: env.TRACING_SAMPLE_RATE },
	};
}

export type AppConfig = ReturnType<typeof loadConfig>;

/** Shown in logs and health output: credentials never leave the process. */
export { redact as redactUrl };
