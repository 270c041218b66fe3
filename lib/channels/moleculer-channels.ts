/**
 * Typed access to @moleculer/channels 0.1.8, whose published typings are not wired into its
 * package.json (and fail strict checks): only what we use, declared once.
 */
import type { Logger, Middleware, ServiceBroker } from "moleculer";

export interface ChannelDefinitionDefaults {
	maxInFlight?: number;
	maxRetries?: number;
	deadLettering?: { enabled?: boolean; queueName?: string };
}

export interface ChannelsMiddlewareOptions {
	adapter: unknown;
	schemaProperty?: string;
	sendMethodName?: string;
	adapterPropertyName?: string;
	channelHandlerTrigger?: string;
	/** Create a Moleculer context for each message (request id, meta, tracing propagate). */
	context?: boolean;
}

interface Serializer {
	serialize(value: unknown): Uint8Array;
	deserialize(bytes: Uint8Array): unknown;
}

export declare class BaseAdapterShape {
	constructor(opts?: unknown);
	opts: { maxInFlight: number; maxRetries: number; deadLettering: { enabled: boolean; queueName: string }; prefix: string | null; consumerName: string | null };
	connected: boolean;
	broker: ServiceBroker;
	logger: Logger;
	serializer: Serializer;
	init(broker: ServiceBroker, logger: Logger): void;
	addPrefixTopic(name: string): string;
	initChannelActiveMessages(channelID: string, toThrow?: boolean): void;
	stopChannelActiveMessages(channelID: string): void;
	addChannelActiveMessages(channelID: string, ids: Array<string | number>): void;
	removeChannelActiveMessages(channelID: string, ids: Array<string | number>): void;
	getNumberOfChannelActiveMessages(channelID: string): number;
	metricsIncrement(metricName: string, chan: { name: string; group: string }): void;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const channels = require("@moleculer/channels") as {
	Middleware(opts: ChannelsMiddlewareOptions): Middleware;
	Adapters: { Base: typeof BaseAdapterShape };
};

export const ChannelsMiddleware = channels.Middleware;
export const BaseAdapter = channels.Adapters.Base;

export const CHANNEL_METRICS = {
	errors: "moleculer.channels.messages.errors.total",
	retries: "moleculer.channels.messages.retries.total",
	deadLettered: "moleculer.channels.messages.deadLettering.total",
} as const;

/** The methods the middleware adds to the broker. */
export interface ChannelsBroker extends ServiceBroker {
	sendToChannel(channel: string, payload: unknown, opts?: { headers?: Record<string, string>; ctx?: unknown; key?: string }): Promise<void>;
	channelAdapter: BaseAdapterShape;
}
