/**
 * The two doors of live notifications on a gateway node: `GET /api/notifications/stream`
 * (server-sent events) and `/api/notifications/ws` (WebSocket). Both authenticate like REST (a
 * bearer token, its session checked against the revoked ones), then hand the connection to the
 * node's LiveHub (platform/live/), which decides what is sent and when a connection must end;
 * here only the bytes of each transport are written.
 *
 * Refusals before a stream starts are the REST error envelope with its status, upgrade requests
 * included (written on the raw socket, since no HTTP response object exists for them). Once a
 * WebSocket is open, refusals are close frames: code 4000 + the HTTP status the same refusal
 * would have had, the error code as the reason (4401 TOKEN_EXPIRED, 4429 TOO_MANY_CONNECTIONS, …).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { ServiceBroker } from "moleculer";
import { decodeJwt } from "jose";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { NotificationView } from "../../contracts/notifications";
import { AppError, isAppError } from "../errors/app-error";
import { LiveHub, type LiveCloseReason, type LiveSink, type LiveSlot, type LiveTransport } from "../live/live-hub";
import { parseLastEventId, type SincePage } from "../live/live-feed";
import { sessionRevocations, verifiedCaller } from "../moleculer/authorization";
import { every, type PeriodicTask } from "../runtime/periodic";
import { renderError } from "./error-envelope";
import { acceptRequestId } from "./request-id";
import type { StaticHeadersMiddleware } from "./security-headers";

export const LIVE_STREAM_PATH = "/api/notifications/stream";
export const LIVE_WS_PATH = "/api/notifications/ws";

/** How long a WebSocket opened without an Authorization header may take to send its auth message. */
export const WS_AUTH_TIMEOUT_MS = 5_000;
/** Clients send one small auth message, nothing else: a bigger frame is refused (close 1009). */
export const WS_MAX_MESSAGE_BYTES = 8 * 1024;
/** What a client may leave unread before it is dropped as too slow (it resumes on reconnection). */
const MAX_BACKLOG_BYTES = 256 * 1024;
/** EventSource waits this long before reconnecting after the stream ends. */
const SSE_RETRY_MS = 3_000;
/** Query parameters that would carry a token: refused outright, URLs end up in logs. */
const TOKEN_PARAMS = ["token", "access_token", "accesstoken", "authorization", "bearer", "jwt"];

interface LiveIdentity {
	userId: string;
	sessionId: string;
	token: string;
	expiresAtMs: number;
}

export interface LiveGatewayOptions {
	broker: ServiceBroker;
	/** The node's live settings (platform/config). */
	settings: { heartbeatMs: number; maxPerUser: number; maxConnections: number; sessionCheckMs: number };
	corsOrigins: readonly string[];
	securityHeaders: StaticHeadersMiddleware;
	/** The gateway's rate limit, when it has one: an upgrade counts as a request. */
	rateLimit?: () => { inc(key: string): number | Promise<number>; secondsToReset(): number; limit: number } | undefined;
	clientKey(req: IncomingMessage): string;
	logger: { warn(...args: unknown[]): void; debug(...args: unknown[]): void };
}

type Req = IncomingMessage & { query?: Record<string, unknown> };

function bearerOf(header: string | undefined): string {
	if (!header) throw new AppError("UNAUTHENTICATED", "Send `Authorization: Bearer <access token>`");
	const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
	if (!match) throw new AppError("INVALID_TOKEN", "The Authorization header must be `Bearer <access token>`");
	return match[1];
}

function resumePointOf(value: unknown): number | undefined {
	const parsed = parseLastEventId(value);
	if (parsed === "invalid") throw new AppError("INVALID_LAST_EVENT_ID");
	return parsed;
}

const WS_CLOSE: Record<LiveCloseReason, number> = {
	SESSION_REVOKED: 4401,
	TOKEN_EXPIRED: 4401,
	TOO_SLOW: 1013,
	RESUME_FAILED: 1011,
	SHUTTING_DOWN: 1001,
};

export function createLiveGateway(options: LiveGatewayOptions) {
	const { broker, settings, logger } = options;
	const revocations = sessionRevocations(broker);
	const hub = new LiveHub({
		maxConnections: settings.maxConnections,
		maxPerUser: settings.maxPerUser,
		// As the user: what they missed is theirs to read, and a gateway node holds no signing key.
		fetchSince: ({ token }, after, limit) => broker.call<SincePage, { after: number; limit: number }>("notifications.since", { after, limit }, { meta: { accessToken: token } }),
		isSessionRevoked: sessionId => revocations.isRevoked(sessionId),
		onError: (err, context) => logger.warn(`Live notifications: ${context} failed: ${err.message}`),
	});
	const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_MESSAGE_BYTES, perMessageDeflate: false, clientTracking: false });
	/** WebSockets open but not yet authenticated: closed with the rest when the node stops. */
	const unauthenticated = new Set<WebSocket>();
	let timers: PeriodicTask[] = [];

	/** Who a bearer token stands for, checked like any guarded call (revoked sessions included). */
	async function authenticate(token: string): Promise<LiveIdentity> {
		const caller = await verifiedCaller(broker, token, { checkRevocation: true });
		if (caller.kind === "anonymous") throw new AppError("UNAUTHENTICATED");
		// Services and operators have no inbox.
		if (caller.kind !== "user") throw new AppError("FORBIDDEN", "Live notifications are for users");
		const exp = decodeJwt(token).exp;
		return { userId: caller.userId.toLowerCase(), sessionId: caller.sessionId, token, expiresAtMs: typeof exp === "number" ? exp * 1000 : 0 };
	}

	function attach(slot: LiveSlot, identity: LiveIdentity, transport: LiveTransport, sink: LiveSink, resumeAfter: number | undefined) {
		return hub.attach(slot, { ...identity, transport, sink, resumeAfter });
	}

	// ---- Server-sent events ----

	/** The `GET /api/notifications/stream` alias (after moleculer-web's route middlewares and rate limit). */
	async function serveStream(req: Req, res: ServerResponse): Promise<void> {
		const token = bearerOf(req.headers.authorization);
		const slot = hub.reserve();
		if (!slot) throw new AppError("LIVE_CAPACITY_REACHED", undefined, { retryAfterSeconds: 5 });
		try {
			const identity = await authenticate(token);
			const lastEventId = req.headers["last-event-id"] ?? req.query?.lastEventId;
			const resumeAfter = resumePointOf(lastEventId);
			if (hub.userIsFull(identity.userId)) throw new AppError("TOO_MANY_CONNECTIONS", undefined, { limit: settings.maxPerUser });
			if (res.destroyed || res.writableEnded) return slot.release();
			res.writeHead(200, {
				"Content-Type": "text/event-stream; charset=utf-8",
				// no-store stays (what the gateway sends everywhere); no-cache for proxies that only read that.
				"Cache-Control": "no-cache, no-store",
				"X-Accel-Buffering": "no",
				Connection: "keep-alive",
			});
			req.socket.setNoDelay(true);
			// A first line at once: the client knows it is connected, and proxies see bytes flow.
			res.write(`retry: ${SSE_RETRY_MS}\n: connected\n\n`);
			const outcome = attach(slot, identity, "sse", sseSink(res), resumeAfter);
			if (!outcome.ok) {
				res.end(`event: close\ndata: ${JSON.stringify({ code: outcome.code })}\n\n`);
				return slot.release();
			}
			res.once("close", () => outcome.connection.detach());
		} catch (err) {
			slot.release();
			throw err;
		}
	}

	function sseSink(res: ServerResponse): LiveSink {
		return {
			send(notification: NotificationView) {
				if (res.writableLength > MAX_BACKLOG_BYTES) return false;
				res.write(`id: ${notification.id}\nevent: notification\ndata: ${JSON.stringify(notification)}\n\n`);
				return true;
			},
			heartbeat() {
				// A client that stopped reading (or vanished) fills its buffer: let it go.
				if (res.writableLength > MAX_BACKLOG_BYTES) return void res.destroy();
				res.write(": heartbeat\n\n");
			},
			close(reason) {
				if (res.writableEnded) return;
				res.end(`event: close\ndata: ${JSON.stringify({ code: reason })}\n\n`);
			},
		};
	}

	// ---- WebSocket ----

	/** Answers an upgrade request that is refused, as the REST envelope, and closes the socket. */
	function refuseUpgrade(socket: Duplex, err: unknown, requestId: string): void {
		const rendered = renderError(err);
		const body = JSON.stringify(rendered.body);
		const headers: Array<readonly [string, string]> = [
			...options.securityHeaders.staticHeaders,
			["Content-Type", "application/json; charset=utf-8"],
			["Content-Length", String(Buffer.byteLength(body))],
			["X-Request-ID", requestId],
			["Connection", "close"],
			...Object.entries(rendered.headers ?? {}),
		];
		if (socket.writable) socket.end(`HTTP/1.1 ${rendered.status} ${statusText(rendered.status)}\r\n${headers.map(([name, value]) => `${name}: ${value}`).join("\r\n")}\r\n\r\n${body}`);
		socket.destroy();
	}

	/** The server's `upgrade` event: only the live WebSocket path upgrades. */
	async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
		socket.on("error", () => socket.destroy());
		const requestId = acceptRequestId(req.headers["x-request-id"]);
		let slot: LiveSlot | undefined;
		try {
			const url = new URL(req.url ?? "/", "http://gateway");
			const path = url.pathname.length > 1 && url.pathname.endsWith("/") ? url.pathname.slice(0, -1) : url.pathname;
			if (path !== LIVE_WS_PATH) throw new AppError("ROUTE_NOT_FOUND");
			if ([...url.searchParams.keys()].some(name => TOKEN_PARAMS.includes(name.toLowerCase())))
				throw new AppError("BAD_REQUEST", "Tokens are never accepted in the URL: send `Authorization: Bearer <token>` or a first message {type: 'auth', token}");
			const resumeAfter = resumePointOf(url.searchParams.get("lastEventId") ?? undefined);
			const origin = req.headers.origin;
			if (origin && !options.corsOrigins.includes("*") && !options.corsOrigins.includes(origin)) throw new AppError("FORBIDDEN", "This origin may not open live connections");
			const limiter = options.rateLimit?.();
			if (limiter && (await limiter.inc(options.clientKey(req))) > limiter.limit) throw new AppError("RATE_LIMITED", undefined, { retryAfterSeconds: limiter.secondsToReset() });
			slot = hub.reserve();
			if (!slot) throw new AppError("LIVE_CAPACITY_REACHED", undefined, { retryAfterSeconds: 5 });
			const reserved = slot;
			// Whatever happens from here, a socket that goes gives its place back (release is idempotent).
			socket.once("close", () => reserved.release());
			let identity: LiveIdentity | undefined;
			if (req.headers.authorization !== undefined) {
				identity = await authenticate(bearerOf(req.headers.authorization));
				if (hub.userIsFull(identity.userId)) throw new AppError("TOO_MANY_CONNECTIONS", undefined, { limit: settings.maxPerUser });
			}
			const onHeaders = (headers: string[], upgraded: IncomingMessage) => {
				if (upgraded === req) headers.push(`X-Request-ID: ${requestId}`);
			};
			wss.on("headers", onHeaders);
			wss.handleUpgrade(req, socket, head, ws => {
				if (identity) startWs(ws, reserved, identity, resumeAfter);
				else awaitAuthMessage(ws, reserved, resumeAfter);
			});
			wss.off("headers", onHeaders);
		} catch (err) {
			slot?.release();
			if (!isAppError(err)) logger.warn(`Live WebSocket upgrade failed: ${(err as Error).message}`);
			refuseUpgrade(socket, err, requestId);
		}
	}

	function closeWs(ws: WebSocket, code: number, reason: string): void {
		if (ws.readyState === ws.CLOSING || ws.readyState === ws.CLOSED) return;
		ws.close(code, reason);
		// A client that never answers the close frame does not hold the socket.
		setTimeout(() => ws.terminate(), 2_000).unref();
	}

	/** The close frame for an error, in the 4000 + HTTP status scheme. */
	function closeWithError(ws: WebSocket, err: unknown): void {
		const rendered = renderError(err);
		closeWs(ws, 4000 + rendered.status, rendered.body.error.code);
	}

	function awaitAuthMessage(ws: WebSocket, slot: LiveSlot, queryResumeAfter: number | undefined): void {
		unauthenticated.add(ws);
		let state: "waiting" | "checking" | "done" = "waiting";
		const timer = setTimeout(() => closeWithError(ws, new AppError("UNAUTHENTICATED", "No auth message in time")), WS_AUTH_TIMEOUT_MS);
		timer.unref();
		const finish = () => {
			state = "done";
			clearTimeout(timer);
			unauthenticated.delete(ws);
			ws.off("message", onMessage);
		};
		ws.once("close", () => {
			finish();
			slot.release();
		});
		ws.on("error", err => logger.debug(`Live WebSocket error: ${err.message}`));
		const onMessage = (data: RawData, isBinary: boolean) => {
			if (state !== "waiting") return closeWithError(ws, new AppError("BAD_REQUEST", "Only one auth message is expected"));
			const message = isBinary ? undefined : parseAuthMessage(data.toString());
			if (!message) return closeWithError(ws, new AppError("BAD_REQUEST", "Expected {type: 'auth', token, lastEventId?}"));
			state = "checking";
			authenticate(message.token).then(
				identity => {
					if (state !== "checking") return;
					finish();
					startWs(ws, slot, identity, message.lastEventId ?? queryResumeAfter);
				},
				err => {
					if (state !== "checking") return;
					finish();
					if (!isAppError(err)) logger.warn(`Live WebSocket authentication failed: ${(err as Error).message}`);
					closeWithError(ws, err);
				},
			);
		};
		ws.on("message", onMessage);
	}

	function startWs(ws: WebSocket, slot: LiveSlot, identity: LiveIdentity, resumeAfter: number | undefined): void {
		if (ws.readyState !== ws.OPEN) return slot.release();
		let alive = true;
		ws.on("pong", () => (alive = true));
		ws.on("error", err => logger.debug(`Live WebSocket error: ${err.message}`));
		const sink: LiveSink = {
			send(notification) {
				if (ws.bufferedAmount > MAX_BACKLOG_BYTES) return false;
				ws.send(JSON.stringify({ type: "notification", notification }));
				return true;
			},
			heartbeat() {
				// No pong since the last ping: the client is gone or not answering.
				if (!alive) return void ws.terminate();
				alive = false;
				ws.ping();
			},
			close: reason => closeWs(ws, WS_CLOSE[reason], reason),
		};
		const outcome = attach(slot, identity, "ws", sink, resumeAfter);
		if (!outcome.ok) {
			slot.release();
			return closeWithError(ws, new AppError(outcome.code, undefined, { limit: settings.maxPerUser }));
		}
		const connection = outcome.connection;
		ws.once("close", () => connection.detach());
		// After authentication a client has nothing more to say.
		ws.on("message", () => closeWithError(ws, new AppError("BAD_REQUEST", "Nothing is expected from the client after authentication")));
	}

	return {
		hub,
		serveStream,
		handleUpgrade,
		start(): void {
			timers = [
				every(
					settings.heartbeatMs,
					async () => hub.heartbeat(),
					err => logger.warn(`Live heartbeat failed: ${err.message}`),
				),
				every(
					settings.sessionCheckMs,
					() => hub.sweep(),
					err => logger.warn(`Live session check failed: ${err.message}`),
				),
			];
		},
		stop(): void {
			for (const timer of timers) timer.stop();
			timers = [];
			hub.closeAll("SHUTTING_DOWN");
			for (const ws of unauthenticated) closeWs(ws, WS_CLOSE.SHUTTING_DOWN, "SHUTTING_DOWN");
			wss.close();
		},
	};
}

export type LiveGateway = ReturnType<typeof createLiveGateway>;

/** `{type: "auth", token, lastEventId?}`, or undefined for anything else. */
export function parseAuthMessage(text: string): { token: string; lastEventId?: number } | undefined {
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		return undefined;
	}
	if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return undefined;
	const { type, token, lastEventId, ...rest } = parsed as Record<string, unknown>;
	if (type !== "auth" || typeof token !== "string" || token.length === 0 || token.length > 4096 || Object.keys(rest).length > 0) return undefined;
	if (lastEventId === undefined) return { token };
	const resumeAfter = parseLastEventId(lastEventId);
	if (resumeAfter === "invalid" || resumeAfter === undefined) return undefined;
	return { token, lastEventId: resumeAfter };
}

const STATUS_TEXT: Partial<Record<number, string>> = {
	400: "Bad Request",
	401: "Unauthorized",
	403: "Forbidden",
	404: "Not Found",
	429: "Too Many Requests",
	500: "Internal Server Error",
	503: "Service Unavailable",
};
const statusText = (status: number) => STATUS_TEXT[status] ?? "Error";
