/**
 * Hand-written OpenAPI entries for the live notification endpoints, which are gateway handlers and
 * not actions: the server-sent event stream, and the WebSocket (OpenAPI cannot describe the frames,
 * so its upgrade request and its messages are described in words and schemas).
 */
import { notificationsContract } from "../../contracts/notifications";
import { LIVE_STREAM_PATH, LIVE_WS_PATH, WS_AUTH_TIMEOUT_MS, WS_MAX_MESSAGE_BYTES } from "./live-gateway";

const errors = (statuses: Record<string, string>) => Object.fromEntries(Object.entries(statuses).map(([status, name]) => [status, { $ref: `#/components/responses/${name}` }]));

export function livePaths(): Record<string, unknown> {
	// The Notification shape, as `GET /api/notifications` lists it.
	const notification = notificationsContract.actions.list.result.properties.items.items;
	const lastEventId = {
		type: "integer",
		minimum: 0,
		description: "The last notification number received: everything after it is sent first, in order, then the live ones. A value that is not a non-negative integer is 400 INVALID_LAST_EVENT_ID.",
	};
	const requestId = { "X-Request-ID": { $ref: "#/components/headers/X-Request-ID" } };
	return {
		[LIVE_STREAM_PATH]: {
			get: {
				operationId: "notifications.stream",
				tags: ["notifications"],
				summary: "Live notifications as server-sent events",
				description: [
					"A `text/event-stream` of the caller's own notifications, as they are created. Each event is `id: <notification number>`, `event: notification`, `data: <Notification as JSON>`.",
					"Reconnect with `Last-Event-ID` (EventSource does it by itself) to get what was missed first, in order and without duplicates. Without it the stream starts with what arrives from now on (the inbox, `GET /api/notifications`, has the rest).",
					"A comment line (`: heartbeat`) comes every LIVE_HEARTBEAT_SECONDS (15 by default) so proxies keep an idle stream open.",
					'The server ends the stream with `event: close`, `data: {"code": …}`: `TOKEN_EXPIRED` (refresh, then reconnect with Last-Event-ID), `SESSION_REVOKED` (log in again), `TOO_SLOW`, `RESUME_FAILED` or `SHUTTING_DOWN` (reconnect with Last-Event-ID).',
					"At most LIVE_MAX_CONNECTIONS_PER_USER (5) live connections per user and gateway node, SSE and WebSocket together: one more is 429 TOO_MANY_CONNECTIONS. A full node answers 503 LIVE_CAPACITY_REACHED.",
				].join("\n\n"),
				security: [{ bearerAuth: [] }],
				parameters: [
					{ name: "Last-Event-ID", in: "header", required: false, schema: lastEventId },
					{ name: "lastEventId", in: "query", required: false, schema: lastEventId, description: "For clients that cannot set the header; the header wins." },
				],
				responses: {
					"200": {
						description: "The stream; it stays open.",
						headers: requestId,
						// OpenAPI 3.2's `itemSchema`, as an extension: the document is 3.1, which has no word for one event's shape.
						content: { "text/event-stream": { schema: { type: "string" }, "x-itemSchema": notification } },
					},
					"400": { $ref: "#/components/responses/BadRequest" },
					...errors({ "401": "Unauthorized", "403": "Forbidden", "429": "TooManyRequests", "503": "ServiceUnavailable" }),
				},
			},
		},
		[LIVE_WS_PATH]: {
			get: {
				operationId: "notifications.websocket",
				tags: ["notifications"],
				summary: "Live notifications over WebSocket",
				description: [
					"A WebSocket upgrade (`Connection: Upgrade`, `Upgrade: websocket`). Authenticate with `Authorization: Bearer <token>` on the upgrade request, or, from a browser, with a first message",
					'`{"type":"auth","token":"…","lastEventId":42}` (lastEventId optional) within ' + `${WS_AUTH_TIMEOUT_MS / 1000} s. A token in the URL is refused (400).`,
					'Then the server sends `{"type":"notification","notification":{…}}` per notification, with the same resume (`lastEventId` in the auth message or the query) and ordering as the event stream.',
					`The server pings every LIVE_HEARTBEAT_SECONDS; a client that does not answer with a pong by the next ping is dropped. Clients send nothing but the auth message (at most ${WS_MAX_MESSAGE_BYTES} bytes: larger is close 1009).`,
					"Close codes: 4000 + the HTTP status the refusal would have, with the error code as reason (4400 BAD_REQUEST, 4401 UNAUTHENTICATED / INVALID_TOKEN / TOKEN_EXPIRED / SESSION_REVOKED, 4403 FORBIDDEN, 4429 TOO_MANY_CONNECTIONS); 1001 SHUTTING_DOWN, 1011 RESUME_FAILED, 1013 TOO_SLOW (reconnect and resume).",
					"Refusals before the upgrade are ordinary HTTP answers with the error envelope.",
				].join("\n\n"),
				security: [{ bearerAuth: [] }, {}],
				parameters: [{ name: "lastEventId", in: "query", required: false, schema: lastEventId }],
				responses: {
					"101": { description: "Switching protocols: the WebSocket is open.", headers: requestId },
					"400": { $ref: "#/components/responses/BadRequest" },
					...errors({ "401": "Unauthorized", "403": "Forbidden", "429": "TooManyRequests", "503": "ServiceUnavailable" }),
				},
			},
		},
	};
}
