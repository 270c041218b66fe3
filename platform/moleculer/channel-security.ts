/**
 * Signs what this node's services send on the channels CHANNEL_PUBLISHERS declares, and makes their
 * consumers drop (log and count) any message there that is unsigned, forged, altered, addressed to
 * another channel or sent by a service not allowed on it. Signing uses the node's token signing
 * ring (AUTH_KEYS_FILE; generated in development), verifying the same public keys tokens are
 * checked with, so a node that holds no private key can consume but not publish on these channels.
 */
import type { Context, Middleware, ServiceBroker, ServiceSchema } from "moleculer";
import { channelAdapterOf, provideMessageSigner, type ChannelDefinition } from "../channels";
import { SIGNATURE_HEADER, signMessage, verifyMessage } from "../channels/message-signing";
import { CHANNEL_PUBLISHERS } from "../../contracts";
import { INBOX_RETENTION_DAYS } from "../outbox/inbox";
import { nodeBackends } from "../runtime/node-backends";
import { publicKeysFor } from "./authorization";

export const REFUSED_MESSAGES_METRIC = "lootopia.channels.messages.refused";

/** Older signed messages are dead-lettered: inboxes keep message ids a day longer (INBOX_RETENTION_DAYS). */
export const MAX_MESSAGE_AGE_DAYS = INBOX_RETENTION_DAYS - 1;

export interface VerifiedMessage {
	sender: string;
	id?: string;
}

const verifiedMessages = new WeakMap<Context, VerifiedMessage>();

export function ChannelSecurityMiddleware(publishers: Readonly<Record<string, readonly string[]>> = CHANNEL_PUBLISHERS): Middleware {
	let broker: ServiceBroker;
	const refused = (channel: string, reason: string) => {
		broker.getLogger("CHANNEL-SECURITY").warn(`Dropped a message on '${channel}': ${reason}`);
		if (broker.isMetricsEnabled()) broker.metrics.increment(REFUSED_MESSAGES_METRIC, { channel, reason });
	};
	return {
		name: "ChannelSecurity",
		created(created: ServiceBroker) {
			broker = created;
			if (broker.isMetricsEnabled())
				broker.metrics.register({ type: "counter", name: REFUSED_MESSAGES_METRIC, labelNames: ["channel", "reason"], description: "Channel messages dropped for a missing or invalid signature" });
			provideMessageSigner(broker, async (channel, sender, payload, messageId) => {
				const allowed = publishers[channel];
				if (!allowed) return undefined;
				if (!sender || !allowed.includes(sender)) throw new Error(`'${sender ?? "(no sender)"}' may not publish on '${channel}' (see the channel contracts in contracts/)`);
				const ring = await nodeBackends(broker)
					.signingRing()
					.catch(err => Promise.reject(new Error(`${(err as Error).message}: it cannot publish on '${channel}'`)));
				return signMessage(ring, channel, sender, payload, { messageId });
			});
		},
		serviceCreating(_service: unknown, schema: ServiceSchema & { channels?: Record<string, ChannelDefinition> }) {
			for (const [channel, definition] of Object.entries(schema.channels ?? {})) {
				const allowed = publishers[channel];
				if (!allowed) continue;
				const handler = definition.handler;
				definition.handler = async function verified(this: unknown, ctx: Context<unknown>, raw: unknown) {
					const headers = channelAdapterOf(broker)?.parseMessageHeaders(raw) ?? {};
					// A failure to get the keys throws: the message is retried, then dead-lettered, never lost.
					const verdict = await verifyMessage(channel, ctx.params, headers[SIGNATURE_HEADER], allowed, publicKeysFor(broker), { maxAgeSeconds: MAX_MESSAGE_AGE_DAYS * 86_400 });
					if (!verdict.ok) {
						// A key we do not know (yet) may be a rotation this node has not seen: retried, then
						// dead-lettered where an operator can look at it. Everything else is definitive.
						if (verdict.reason === "unknown key") throw new Error(`Channel message on '${channel}' signed with a key this node does not know`);
						// Too old to tell from a replay (the inbox forgets ids after INBOX_RETENTION_DAYS), yet
						// possibly real (a consumer down that long): dead-lettered for an operator, not dropped.
						if (verdict.reason === "expired") throw new Error(`Channel message on '${channel}' was signed more than ${MAX_MESSAGE_AGE_DAYS} days ago`);
						return refused(channel, verdict.reason);
					}
					// Only the payload is signed: the meta rebuilt from the message's headers is not to be
					// trusted. What was signed with it is: the sender and the message id.
					ctx.meta = {};
					verifiedMessages.set(ctx, { sender: verdict.sender, ...(verdict.messageId ? { id: verdict.messageId } : {}) });
					return handler.call(this as never, ctx, raw);
				};
			}
		},
	} as unknown as Middleware;
}

/**
 * What the signature of the message a channel handler runs for vouches for: its sender and id.
 * Undefined for a message nobody verified (a channel not in CHANNEL_PUBLISHERS): nothing a message
 * carries unsigned (its headers, the meta rebuilt from them) can stand for these.
 */
export function channelMessageOf(ctx: Context): VerifiedMessage | undefined {
	return verifiedMessages.get(ctx);
}
