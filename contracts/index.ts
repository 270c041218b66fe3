/**
 * Every domain's contract, by service name. Typed calls, emits and channel messages
 * (platform/moleculer/contract-calls.ts, the outbox) accept only the names declared here and
 * payloads of their shape; the OpenAPI and AsyncAPI documents are generated from the same maps.
 * A new domain adds its contract here.
 */
import type { Static, TSchema } from "./kit";
import { auditContract } from "./audit";
import { huntsContract } from "./hunts";
import { gameplayContract } from "./gameplay";
import { leaderboardsContract } from "./leaderboards";
import { analyticsContract } from "./analytics";
import { geoContract } from "./geo";
import { notificationsContract } from "./notifications";
import { rewardsContract } from "./rewards";
import { liveContract } from "./live";
import { authContract } from "./auth";
import { partnersContract } from "./partners";
import { systemContract } from "./system";
import { usersContract } from "./users";

export const CONTRACTS = {
	auth: authContract,
	users: usersContract,
	partners: partnersContract,
	audit: auditContract,
	hunts: huntsContract,
	gameplay: gameplayContract,
	leaderboards: leaderboardsContract,
	analytics: analyticsContract,
	geo: geoContract,
	notifications: notificationsContract,
	rewards: rewardsContract,
	system: systemContract,
	api: liveContract,
} as const;

type Contracts = typeof CONTRACTS;
type ServiceName = keyof Contracts;

export type ActionName = { [S in ServiceName]: `${S}.${keyof Contracts[S]["actions"] & string}` }[ServiceName];
type ActionOf<N extends ActionName> = N extends `${infer S extends ServiceName}.${infer A}` ? (A extends keyof Contracts[S]["actions"] ? Contracts[S]["actions"][A] : never) : never;
export type ActionParams<N extends ActionName> = ActionOf<N> extends { params: infer P extends TSchema } ? Static<P> : Record<string, never>;
export type ActionResult<N extends ActionName> = ActionOf<N> extends { result: infer R extends TSchema } ? Static<R> : void;

export type EventName = { [S in ServiceName]: keyof Contracts[S]["events"] & string }[ServiceName];
type PayloadIn<Map, K> = K extends keyof Map ? (Map[K] extends { payload: infer P extends TSchema } ? Static<P> : never) : never;
export type EventPayload<E extends EventName> = { [S in ServiceName]: PayloadIn<Contracts[S]["events"], E> }[ServiceName];

export type ChannelName = { [S in ServiceName]: keyof Contracts[S]["channels"] & string }[ServiceName];
export type ChannelPayload<C extends ChannelName> = { [S in ServiceName]: PayloadIn<Contracts[S]["channels"], C> }[ServiceName];
/** Every declared channel with its payload: what the outbox accepts. */
export type ContractChannels = { [C in ChannelName]: ChannelPayload<C> };

/**
 * Which services may publish on which durable channel: the declaring service, or the channel's own
 * `publishers`. Consumers act only on messages signed by one of them
 * (platform/channels/message-signing.ts).
 */
export const CHANNEL_PUBLISHERS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
	Object.values(CONTRACTS).flatMap(contract =>
		Object.entries(contract.channels as Record<string, { publishers?: readonly string[] }>).map(([channel, declared]) => [channel, declared.publishers ?? [contract.service]]),
	),
);
