/**
 * Live notification clients and a stand-in inbox for tests. The clients read the stream
 * (server-sent events over a raw HTTP request, without keep-alive) or a WebSocket, keep everything
 * they receive, and let a test wait for it with a deadline. The stand-in `notifications` service
 * implements the contract's `since` over an in-memory inbox and announces each notification the
 * way the real one does (a `notification.created` broadcast); it can hold `since` back and lose a
 * broadcast, which is what the gateway's ordering has to survive.
 */
import { decodeJwt } from "jose";
import http from "node:http";
import { WebSocket } from "ws";
import type { ServiceBroker } from "moleculer";
import type { NotificationView } from "../../contracts/notifications";
import { eventually } from "./node";

export interface SseEvent {
	id?: string;
	event?: string;
	data: string;
}

export interface SseClient {
	status: number;
	headers: http.IncomingHttpHeaders;
	/** The body, for a refusal (JSON envelope). */
	body: string;
	events: SseEvent[];
	comments: string[];
	ended: boolean;
	notifications(): NotificationView[];
	waitFor(check: (client: SseClient) => boolean, timeoutMs?: number): Promise<void>;
	close(): void;
}

/** Opens `GET path` as a server-sent event stream; resolves once the response head arrived (and, for a refusal, its body). */
export function openSse(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
	return new Promise((resolve, reject) => {
		const req = http.get(`${baseUrl}${path}`, { agent: false, headers: { Accept: "text/event-stream", ...headers } }, res => {
			res.setEncoding("utf8");
			let buffer = "";
			const client: SseClient = {
				status: res.statusCode ?? 0,
				headers: res.headers,
				body: "",
				events: [],
				comments: [],
				ended: false,
				notifications: () => client.events.filter(e => e.event === "notification").map(e => JSON.parse(e.data) as NotificationView),
				waitFor: (check, timeoutMs = 10_000) =>
					eventually(
						async () => {
							if (!check(client)) throw new Error(`not yet: ${JSON.stringify({ events: client.events, ended: client.ended })}`);
						},
						{ timeoutMs, intervalMs: 20 },
					),
				close: () => req.destroy(),
			};
			res.on("data", (chunk: string) => {
				if (client.status !== 200) {
					client.body += chunk;
					return;
				}
				buffer += chunk;
				let end: number;
				while ((end = buffer.indexOf("\n\n")) !== -1) {
					const block = buffer.slice(0, end);
					buffer = buffer.slice(end + 2);
					const event: SseEvent = { data: "" };
					let hasField = false;
					for (const line of block.split("\n")) {
						if (line.startsWith(":")) client.comments.push(line.slice(1).trim());
						else {
							const colon = line.indexOf(":");
							const field = colon === -1 ? line : line.slice(0, colon);
							const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
							if (field === "id" || field === "event") event[field] = value;
							else if (field === "data") event.data = event.data ? `${event.data}\n${value}` : value;
							else continue;
							hasField = true;
						}
					}
					if (hasField && (event.event || event.data)) client.events.push(event);
				}
			});
			const ended = () => {
				client.ended = true;
			};
			res.on("end", ended);
			res.on("close", ended);
			res.on("error", ended);
			if (client.status === 200) resolve(client);
			else res.on("end", () => resolve(client));
		});
		req.on("error", reject);
	});
}

export interface WsClient {
	ws: WebSocket;
	messages: Array<{ type: string; notification?: NotificationView }>;
	closed?: { code: number; reason: string };
	notifications(): NotificationView[];
	waitFor(check: (client: WsClient) => boolean, timeoutMs?: number): Promise<void>;
}

/** Connects a WebSocket; resolves once it is open, or rejects with the refused upgrade's status and body. */
export function openWs(url: string, options: { headers?: Record<string, string>; autoPong?: boolean } = {}): Promise<WsClient> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, { headers: options.headers, autoPong: options.autoPong ?? true });
		const client: WsClient = {
			ws,
			messages: [],
			notifications: () => client.messages.filter(m => m.type === "notification").map(m => m.notification!),
			waitFor: (check, timeoutMs = 10_000) =>
				eventually(
					async () => {
						if (!check(client)) throw new Error(`not yet: ${JSON.stringify({ messages: client.messages, closed: client.closed })}`);
					},
					{ timeoutMs, intervalMs: 20 },
				),
		};
		ws.on("message", data => client.messages.push(JSON.parse(data.toString())));
		ws.on("close", (code, reason) => (client.closed = { code, reason: reason.toString() }));
		ws.on("error", () => undefined);
		ws.once("open", () => resolve(client));
		ws.once("unexpected-response", (_req, res) => {
			let body = "";
			res.setEncoding("utf8");
			res.on("data", (chunk: string) => (body += chunk));
			res.on("end", () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, headers: res.headers, body: JSON.parse(body || "null") })));
		});
	});
}

const note = (id: number, title: string): NotificationView => ({ id, kind: "clue_discovered", title, body: `Body of ${title}`, data: { n: id }, createdAt: new Date().toISOString() });

/**
 * A `notifications` service with the contract's `since` over an in-memory inbox, registered on
 * `broker`. `create` stores a notification under the user's next number and broadcasts it (unless
 * told the broadcast was lost); `holdSince` makes `since` wait until the returned function is called.
 */
export function fakeNotifications(broker: ServiceBroker) {
	const inboxes = new Map<string, Array<NotificationView & { push: boolean }>>();
	let held: Promise<void> | undefined;
	const sinceCalls: Array<{ userId: string; after: number }> = [];
	broker.createService({
		name: "notifications",
		actions: {
			since: {
				// As the real one: the caller's own, from the token the gateway passes on.
				access: "user",
				params: { after: "number", limit: { type: "number", optional: true } },
				async handler(ctx: { params: { after: number; limit?: number }; meta: { accessToken?: string } }) {
					const { after, limit = 500 } = ctx.params;
					const userId = String(decodeJwt(ctx.meta.accessToken ?? "").sub).toLowerCase();
					sinceCalls.push({ userId, after });
					if (held) await held;
					const inbox = inboxes.get(userId) ?? [];
					const items = inbox
						.filter(n => n.id > after && n.push)
						.slice(0, limit)
						.map(({ push: _push, ...n }) => n);
					return { items, last: inbox.length };
				},
			} as never,
		},
	});
	return {
		sinceCalls,
		async create(userId: string, options: { push?: boolean; broadcast?: boolean } = {}): Promise<NotificationView> {
			const inbox = inboxes.get(userId) ?? [];
			inboxes.set(userId, inbox);
			const notification = note(inbox.length + 1, `Notification ${inbox.length + 1}`);
			inbox.push({ ...notification, push: options.push ?? true });
			if (options.broadcast !== false) await broker.broadcast("notification.created", { userId, push: options.push ?? true, notification });
			return notification;
		},
		holdSince(): () => void {
			let release!: () => void;
			held = new Promise(resolve => (release = resolve));
			return () => {
				held = undefined;
				release();
			};
		},
	};
}
