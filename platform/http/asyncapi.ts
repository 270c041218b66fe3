/**
 * The event catalogue as an AsyncAPI 3 document, generated from the contracts: every broker event
 * and durable channel, its payload schema, the service that publishes it and what delivery it
 * gets. Served at /api/asyncapi.json and rendered at /api/docs/events, so a team building a
 * subscriber never has to read our source.
 */
import type { DomainContract, TSchema } from "../../contracts/kit";
import { SIGNATURE_HEADER } from "../channels/message-signing";
import { escapeHtml, htmlPage } from "./html";

export interface AsyncApiInput {
	contracts: Readonly<Record<string, DomainContract>>;
	version: string;
	/** Moleculer namespace: a node sees only nodes of its namespace. */
	namespace: string;
	/** Moleculer serializer of the cluster (JSON by default). */
	serializer: string;
	/** The transporter URL with credentials removed, when the node runs in a cluster. */
	transporter?: string;
	/** The durable channels' backend with credentials removed (embedded://, kafka://, …). */
	channelsBackend: string;
}

export const BROKER_EVENT_DELIVERY =
	"Moleculer broker event, balanced: each subscribing service (event group) gets each event once, if it is online when the event is emitted. At most once; nothing is replayed.";
export const CHANNEL_DELIVERY =
	"Durable channel (@moleculer/channels): at least once per consumer group, kept until consumed, retried then dead-lettered. Written through the publisher's transactional outbox, so a committed change always sends it. Each message is signed by its publisher and carries a message id: a consumer acts once per id.";

/** AsyncAPI ids (channel, operation, message keys) are plain names: `user.registered` → `userRegistered`. */
export function asyncApiId(name: string): string {
	return name.replace(/[^A-Za-z0-9]+(.)?/g, (_, next: string | undefined) => (next ? next.toUpperCase() : ""));
}

/** The schema as published: plain JSON (TypeBox's symbol-keyed metadata dropped). */
const plain = (schema: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;

/** `nats://a:4222,b:4222` → nats, "a:4222,b:4222" (a list of servers is no URL). Credentials are already gone. */
function hostAndProtocol(url: string): { protocol: string; host: string } {
	const match = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/]*@)?([^/?#]*)/i.exec(url);
	return match ? { protocol: match[1].toLowerCase(), host: match[2] } : { protocol: "nats", host: url };
}

export function buildAsyncApiDocument(input: AsyncApiInput): Record<string, unknown> {
	const channels: Record<string, unknown> = {};
	const operations: Record<string, unknown> = {};
	const messages: Record<string, unknown> = {};
	const tags = new Map<string, string>();

	for (const contract of Object.values(input.contracts)) {
		tags.set(contract.service, contract.description);
		for (const [event, declared] of Object.entries(contract.events)) {
			const id = asyncApiId(event);
			messages[id] = {
				name: event,
				title: event,
				summary: declared.description,
				contentType: "application/json",
				payload: plain(declared.payload),
				"x-publishers": [contract.service],
				"x-delivery": "broker-event",
			};
			channels[id] = {
				address: event,
				title: `${event} (broker event)`,
				description: `${declared.description}\n\nPublished by the ${contract.service} service. ${BROKER_EVENT_DELIVERY}`,
				messages: { [id]: { $ref: `#/components/messages/${id}` } },
				servers: [{ $ref: "#/servers/cluster" }],
				tags: [{ name: contract.service }, { name: "broker-event" }],
			};
			operations[`${id}Published`] = {
				action: "send",
				title: `${contract.service} emits ${event}`,
				channel: { $ref: `#/channels/${id}` },
				messages: [{ $ref: `#/channels/${id}/messages/${id}` }],
				tags: [{ name: contract.service }],
			};
		}
		for (const [channel, declared] of Object.entries(contract.channels)) {
			const id = asyncApiId(channel);
			const publishers = declared.publishers ?? [contract.service];
			messages[id] = {
				name: channel,
				title: channel,
				summary: declared.description,
				contentType: "application/json",
				headers: {
					type: "object",
					properties: { [SIGNATURE_HEADER]: { type: "string", description: "Compact JWS (EdDSA) by the publishing service over the payload's digest, the channel and the message id" } },
				},
				payload: plain(declared.payload),
				...(declared.partitionKey ? { "x-partition-key": declared.partitionKey } : {}),
				"x-publishers": publishers,
				"x-delivery": "durable-channel",
			};
			channels[id] = {
				address: `{namespace}.${channel}`,
				title: `${channel} (durable channel)`,
				description: `${declared.description}\n\nPublished by ${publishers.join(", ")}. ${CHANNEL_DELIVERY}${declared.partitionKey ? ` Kafka message key: the payload's \`${declared.partitionKey}\`.` : ""}`,
				parameters: { namespace: { description: "The cluster's NAMESPACE", default: input.namespace } },
				messages: { [id]: { $ref: `#/components/messages/${id}` } },
				servers: [{ $ref: "#/servers/channels" }],
				tags: [...publishers.map(name => ({ name })), { name: "durable-channel" }],
			};
			operations[`${id}Published`] = {
				action: "send",
				title: `${publishers.join(", ")} ${publishers.length > 1 ? "publish" : "publishes"} on ${channel}`,
				channel: { $ref: `#/channels/${id}` },
				messages: [{ $ref: `#/channels/${id}/messages/${id}` }],
				tags: publishers.map(name => ({ name })),
			};
		}
	}

	const transporter = input.transporter ? hostAndProtocol(input.transporter) : undefined;
	const channelsUrl = hostAndProtocol(input.channelsBackend);
	return {
		asyncapi: "3.1.0",
		info: {
			title: "Lootopia events",
			version: input.version,
			description:
				"What Lootopia's services announce. Broker events reach any Moleculer node that joins the cluster (same transporter, namespace and serializer); durable channels are for consumers that must not miss a message. See the README's section “Subscribing to Lootopia's events”.",
			tags: [...tags.entries()].map(([name, description]) => ({ name, description })),
		},
		defaultContentType: "application/json",
		servers: {
			cluster: {
				host: transporter ? transporter.host : "in-process",
				protocol: transporter ? transporter.protocol : "moleculer",
				title: "Moleculer cluster (broker events)",
				description: `Moleculer 0.15 transporter. Join with namespace \`${input.namespace}\` and serializer \`${input.serializer}\`.${transporter ? "" : " This node runs alone (no TRANSPORTER): only services in its own process receive broker events."}`,
			},
			channels: {
				host: channelsUrl.host || "embedded",
				protocol: channelsUrl.protocol,
				title: "Durable channels",
				description: "The @moleculer/channels backend (CHANNELS_URL): Kafka in production; Redis Streams, NATS JetStream or the embedded SQL log otherwise.",
			},
		},
		channels,
		operations,
		components: { messages },
	};
}

interface CatalogueMessage {
	name: string;
	summary: string;
	payload: unknown;
	"x-publishers": string[];
	"x-delivery": "broker-event" | "durable-channel";
	"x-partition-key"?: string;
}

/**
 * The catalogue as a page beside /api/docs: plain HTML rendered here (no script, no inline style),
 * so it works under the docs page's strict CSP and in any browser or terminal.
 */
export function renderEventCataloguePage(document: Record<string, unknown>, specUrl: string): string {
	const info = document.info as { title: string; version: string; description: string };
	const servers = document.servers as Record<string, { title: string; description: string }>;
	const messages = Object.values((document.components as { messages: Record<string, CatalogueMessage> }).messages);
	const section = (kind: CatalogueMessage["x-delivery"], heading: string, delivery: string) => [
		`<h2>${escapeHtml(heading)}</h2>`,
		`<p>${escapeHtml(delivery)}</p>`,
		...messages
			.filter(message => message["x-delivery"] === kind)
			.flatMap(message => [
				`<h3 id="${escapeHtml(asyncApiId(message.name))}"><code>${escapeHtml(message.name)}</code></h3>`,
				`<p>${escapeHtml(message.summary)}</p>`,
				`<p>Published by: ${message["x-publishers"].map(name => `<code>${escapeHtml(name)}</code>`).join(", ")}${message["x-partition-key"] ? `; Kafka key: <code>${escapeHtml(message["x-partition-key"])}</code>` : ""}</p>`,
				`<pre>${escapeHtml(JSON.stringify(message.payload, null, 2))}</pre>`,
			]),
	];
	return htmlPage(info.title, [
		`<h1>${escapeHtml(info.title)} <small>${escapeHtml(info.version)}</small></h1>`,
		`<p>${escapeHtml(info.description)}</p>`,
		`<p>The AsyncAPI 3 document: <a href="${escapeHtml(specUrl)}">${escapeHtml(specUrl)}</a>. The REST API: <a href="/api/docs">/api/docs</a>.</p>`,
		"<ul>",
		...Object.values(servers).map(server => `<li><strong>${escapeHtml(server.title)}</strong>: ${escapeHtml(server.description)}</li>`),
		"</ul>",
		...section("broker-event", "Broker events", BROKER_EVENT_DELIVERY),
		...section("durable-channel", "Durable channels", CHANNEL_DELIVERY),
	]);
}
