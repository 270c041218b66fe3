/**
 * Durable events for every node: which adapter CHANNELS_URL selects, with one set of delivery
 * defaults (retries, dead-lettering, in-flight limit) whatever the backend.
 */
import type { Middleware } from "moleculer";
import type { DatabaseTarget } from "../sql";
import { ChannelsMiddleware } from "./moleculer-channels";
import { SqlChannelAdapter } from "./sql-channel-adapter";

export { SqlChannelAdapter } from "./sql-channel-adapter";
export type { ChannelsBroker } from "./moleculer-channels";

/** Where a message goes after its retries are exhausted; an operator inspects or replays it. */
export const DEAD_LETTER_CHANNEL = "DEAD_LETTER";

export interface ChannelsOptions {
	/** embedded://, redis(s)://, nats://, kafka://host:9092[,host2:9092] */
	url: string;
	/** The database the embedded adapter keeps its log in. */
	database: DatabaseTarget;
	namespace: string;
	schema?: string;
	maxInFlight?: number;
	maxRetries?: number;
	/** Embedded adapter: first retry delay (doubles per attempt) and poll interval. */
	retryBackoffMs?: number;
	pollIntervalMs?: number;
}

export function createChannelAdapter(options: ChannelsOptions): unknown {
	const common = {
		prefix: options.namespace,
		maxInFlight: options.maxInFlight ?? 10,
		maxRetries: options.maxRetries ?? 3,
		deadLettering: { enabled: true, queueName: DEAD_LETTER_CHANNEL },
	};
	const scheme = new URL(options.url).protocol.replace(/:$/, "");
	switch (scheme) {
		case "embedded":
			return new SqlChannelAdapter({ ...common, database: options.database, schema: options.schema, retryBackoffMs: options.retryBackoffMs, pollIntervalMs: options.pollIntervalMs });
		case "redis":
		case "rediss":
			return { type: "Redis", options: { ...common, redis: { url: options.url } } };
		case "nats":
			return { type: "NATS", options: { ...common, url: options.url } };
		case "kafka": {
			const brokers = options.url.replace(/^kafka:\/\//, "").split(",").map(host => host.replace(/\/.*$/, ""));
			return { type: "Kafka", options: { ...common, kafka: { brokers } } };
		}
		default:
			throw new Error(`CHANNELS_URL scheme "${scheme}" is not supported`);
	}
}

export function createChannelsMiddleware(options: ChannelsOptions): Middleware {
	return ChannelsMiddleware({ adapter: createChannelAdapter(options), context: true });
}
