/**
 * Durable channels (@moleculer/channels) for every node: CHANNELS_URL picks the backend, and the
 * delivery defaults (retries, dead-lettering, context propagation, in-flight limit) are the same
 * whichever it is. The default, embedded://, keeps the channels in the service database (see
 * sql-adapter.ts), so a single node needs nothing but its data folder.
 *
 * The package's typings fail strict checks and type handlers as `Function`; the small wrappers here
 * are what the rest of the code uses instead.
 */
import { Middleware as ChannelsMiddlewareFactory } from "@moleculer/channels";
import { Partitioners } from "kafkajs";
import type { Context, Middleware, Service, ServiceBroker } from "moleculer";
import type { DatabaseTarget } from "../sql";
import { KafkaChannelAdapter, NatsChannelAdapter, RedisChannelAdapter } from "./library-adapters";
import { SIGNATURE_HEADER } from "./message-signing";
import { SqlChannelAdapter, type ChannelAdapter } from "./sql-adapter";
import { isPlainObject } from "../objects";

export { SqlChannelAdapter, type ChannelAdapter, type SqlChannelAdapterOptions, type SqlChannelMessage } from "./sql-adapter";
export { HEADER_ERROR, HEADER_ORIGINAL_CHANNEL, HEADER_ORIGINAL_GROUP, HEADER_ORIGINAL_ID } from "./sql-adapter";

/** Where a message goes once its retries are used up; an operator inspects or replays it from there. */
export const DEAD_LETTER_CHANNEL = "DEAD_LETTER";

/**
 * Applied to every channel unless its definition says otherwise. maxInFlight: the library's 1 runs a
 * consumer's handlers one at a time, which caps a node at one message per handler latency; 10 keeps
 * the load bounded without that. (On NATS it is the whole group's limit: max_ack_pending.)
 */
export const CHANNEL_DEFAULTS = {
	maxRetries: 3,
	maxInFlight: 10,
	deadLettering: { enabled: true, queueName: DEAD_LETTER_CHANNEL },
} as const;

export interface ChannelsOptions {
	/** embedded:// (the service database), redis:// or rediss://, nats://, kafka://host:9092[,host2:9092]. */
	url: string;
	/** Where embedded:// keeps its tables: the services' database (PGlite folder or PostgreSQL URL). */
	database: DatabaseTarget;
	/** Schema of the embedded tables (default "channels"). */
	schema?: string;
	/** Prefix of every channel name; the broker's namespace when omitted, as in the library. */
	namespace?: string;
	/** Deep-merged over the adapter's options: tuning (poll interval, leases, Redis claim timings) and tests. */
	adapterOptions?: Record<string, unknown>;
}

/** An adapter as the middleware accepts it: an instance, a URL or `{ type, options }`. */
export type AdapterInstanceOrOptions = ChannelAdapter | string | { type: string; options?: Record<string, unknown> };

/**
 * The library's Redis and NATS defaults start a new group at the end of the stream and leave a dead
 * consumer's messages pending for an hour. Every adapter here gives a group seen for the first time
 * the retained backlog (as the SQL log and, through KafkaChannelAdapter, Kafka do), and Redis hands
 * a dead consumer's messages to the rest of its group after a minute (NATS: JetStream's 30 s
 * ack_wait; Kafka: the 30 s session timeout; SQL: the 30 s lease).
 */
const REDIS_CONSUMER_DEFAULTS = { startID: "0", minIdleTime: 60_000 };

/** Objects merge key by key, anything else (arrays included) is replaced. */
function mergeDeep(base: Record<string, unknown>, override: Record<string, unknown> | undefined): Record<string, unknown> {
	const result: Record<string, unknown> = { ...base };
	for (const [key, value] of Object.entries(override ?? {})) {
		result[key] = isPlainObject(value) && isPlainObject(result[key]) ? mergeDeep(result[key] as Record<string, unknown>, value) : value;
	}
	return result;
}

/**
 * The NATS adapter maps its `url` through `new URL(each).host`, which breaks on a second server
 * without a scheme and drops credentials, so servers and credentials are given to it ready-made.
 */
function natsConnectionOptions(url: string): Record<string, unknown> {
	const servers = url
		.replace(/^nats:\/\//, "")
		.split(",")
		.map(s => s.trim())
		.filter(Boolean);
	if (!servers.length) throw new Error(`CHANNELS_URL ${url} names no NATS server`);
	const options: Record<string, unknown> = {};
	const first = new URL(`nats://${servers[0]}`);
	if (first.username && first.password) {
		options.user = decodeURIComponent(first.username);
		options.pass = decodeURIComponent(first.password);
	} else if (first.username) {
		options.token = decodeURIComponent(first.username);
	}
	options.servers = servers.map(server => new URL(`nats://${server}`).host);
	return options;
}

export function createChannelAdapter(options: ChannelsOptions): AdapterInstanceOrOptions {
	const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(options.url)?.[1]?.toLowerCase();
	const common: Record<string, unknown> = {
		...CHANNEL_DEFAULTS,
		deadLettering: { ...CHANNEL_DEFAULTS.deadLettering },
		...(options.namespace !== undefined ? { prefix: options.namespace } : {}),
	};
	switch (scheme) {
		case "embedded":
			return new SqlChannelAdapter(mergeDeep({ ...common, database: options.database, ...(options.schema ? { schema: options.schema } : {}) }, options.adapterOptions) as never);
		case "redis":
		case "rediss":
			return new RedisChannelAdapter(mergeDeep({ ...common, redis: { url: options.url, consumerOptions: REDIS_CONSUMER_DEFAULTS } }, options.adapterOptions));
		case "nats":
			return new NatsChannelAdapter(
				mergeDeep({ ...common, nats: { connectionOptions: natsConnectionOptions(options.url), consumerOptions: { config: { deliver_policy: "all" } } } }, options.adapterOptions),
			);
		case "kafka": {
			const brokers = options.url
				.replace(/^kafka:\/\//i, "")
				.split(",")
				.map(b => b.trim().replace(/\/.*$/, ""))
				.filter(Boolean);
			if (!brokers.length) throw new Error(`CHANNELS_URL ${options.url} names no Kafka broker`);
			// Naming the partitioner kafkajs uses anyway silences its warning on every producer.
			const kafka = { brokers, producerOptions: { createPartitioner: Partitioners.DefaultPartitioner } };
			return new KafkaChannelAdapter(mergeDeep({ ...common, kafka }, options.adapterOptions));
		}
		default:
			throw new Error(`CHANNELS_URL ${options.url}: unsupported scheme (use embedded://, redis://, rediss://, nats:// or kafka://)`);
	}
}

interface ChannelsMiddlewareOptions {
	adapter: AdapterInstanceOrOptions;
	schemaProperty?: string;
	sendMethodName?: string;
	adapterPropertyName?: string;
	channelHandlerTrigger?: string;
	/** Handlers get a Context (params = payload) carrying the sender's meta, request id and tracing. */
	context?: boolean;
}

const channelsMiddleware = ChannelsMiddlewareFactory as unknown as (options: ChannelsMiddlewareOptions) => Middleware;

/** The @moleculer/channels middleware on the adapter CHANNELS_URL selects; one per broker. */
export function createChannelsMiddleware(options: ChannelsOptions): Middleware {
	return channelsMiddleware({ adapter: createChannelAdapter(options), context: true });
}

// --- using channels from services ----------------------------------------------------------------

export interface ChannelDefinition<Payload = unknown> {
	/** Consumer group; the service's full name by default. Each group gets every message once. */
	group?: string;
	maxInFlight?: number;
	/** Deliveries before the message is dead-lettered (or dropped when dead-lettering is off). */
	maxRetries?: number;
	deadLettering?: { enabled?: boolean; queueName?: string };
	/** With the default context mode the handler gets a Context whose params are the payload. */
	handler(this: Service, ctx: Context<Payload>, raw: unknown): unknown;
	/** Backend-specific options (e.g. `redis: { minIdleTime }`) pass through to the adapter. */
	[backendOptions: string]: unknown;
}

export interface SendToChannelOptions {
	/** Propagates meta, request id, caller and tracing to the consumer's Context. */
	ctx?: Context;
	/** The sending service, signed into the message on the channels that require it (the channel contracts in contracts/). */
	sender?: string;
	headers?: Record<string, string>;
	/** Kafka message key (partitioning). */
	key?: string;
	/** The outbox message id, signed in and carried in MESSAGE_ID_HEADER: consumers deduplicate by it. */
	messageId?: string;
}

interface BrokerWithChannels {
	sendToChannel?: (channel: string, payload: unknown, opts?: SendToChannelOptions) => Promise<void>;
	channelAdapter?: ChannelAdapter;
}

/** Signs a message for a channel, or gives undefined for a channel that needs no signature. */
export type MessageSigner = (channel: string, sender: string | undefined, payload: unknown, messageId: string | undefined) => Promise<string | undefined>;

/** Carries the message id on every adapter; on signed channels the id that counts is the signed one. */
export const MESSAGE_ID_HEADER = "x-lootopia-message-id";

const signers = new WeakMap<ServiceBroker, MessageSigner>();

/** Set by the channel security middleware (platform/moleculer/channel-security.ts). */
export function provideMessageSigner(broker: ServiceBroker, signer: MessageSigner): void {
	signers.set(broker, signer);
}

/** Publishes durably: resolves once the backend accepted the message (committed, for embedded://). */
export async function sendToChannel(broker: ServiceBroker, channel: string, payload: unknown, opts: SendToChannelOptions = {}): Promise<void> {
	const send = (broker as unknown as BrokerWithChannels).sendToChannel;
	if (!send) throw new Error("The channels middleware is not installed on this broker");
	const sender = opts.sender ?? (opts.ctx?.service as { name?: string } | undefined)?.name;
	const signature = await signers.get(broker)?.(channel, sender, payload, opts.messageId);
	const { sender: _sender, messageId, ...rest } = opts;
	// The middleware rewrites opts (moves ctx into headers); keep the caller's object intact.
	const added = { ...(signature ? { [SIGNATURE_HEADER]: signature } : {}), ...(messageId ? { [MESSAGE_ID_HEADER]: messageId } : {}) };
	const headers = opts.headers || signature || messageId ? { ...opts.headers, ...added } : undefined;
	return send.call(broker, channel, payload, { ...rest, headers });
}

export function channelAdapterOf(broker: ServiceBroker): ChannelAdapter | undefined {
	return (broker as unknown as BrokerWithChannels).channelAdapter;
}

export interface ChannelsHealth {
	connected: boolean;
	reason?: string;
}

/**
 * For readiness probes. The library's `connected` flag stays true when a connection drops later, so
 * this also asks the client underneath: the database (embedded), ioredis status, the NATS connection.
 */
export async function channelsHealth(broker: ServiceBroker): Promise<ChannelsHealth> {
	const adapter = channelAdapterOf(broker);
	if (!adapter) return { connected: false, reason: "channels middleware not installed" };
	if (!adapter.connected) return { connected: false, reason: "adapter not connected" };
	try {
		if (adapter instanceof SqlChannelAdapter) {
			await adapter.ping();
			return { connected: true };
		}
		const internals = adapter as unknown as { clients?: Map<string, { status?: string }>; connection?: { isClosed(): boolean } | null };
		if (internals.clients instanceof Map) {
			const down = [...internals.clients.entries()].filter(([, client]) => client.status !== "ready").map(([name]) => name);
			if (down.length) return { connected: false, reason: `redis client(s) not ready: ${down.join(", ")}` };
		}
		if (internals.connection && internals.connection.isClosed()) return { connected: false, reason: "NATS connection closed" };
		return { connected: true };
	} catch (err) {
		return { connected: false, reason: err instanceof Error ? err.message : String(err) };
	}
}
