/**
 * The REST gateway. Domain services declare their own routes (`settings.rest` + action `rest`);
 * this service only turns HTTP into calls: body limits, CORS, security headers, request ids, the
 * error envelope, health probes and the OpenAPI document generated from what is registered.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import fs from "node:fs";
import path from "node:path";
import type { ActionSchema, Context, Service, ServiceSchema } from "moleculer";
import { acceptIdempotencyKey, IDEMPOTENCY_KEY_HEADER, type IdempotencyMeta } from "../platform/moleculer/idempotency";
import type { LootopiaSettings } from "../platform/moleculer/define-service";
import ApiGateway from "moleculer-web";
import { renderError } from "../platform/http/error-envelope";
import { acceptRequestId } from "../platform/http/request-id";
import { apiSecurityHeaders, DOCS_PAGE_CSP } from "../platform/http/security-headers";
import { buildOpenApiDocument, DOCS_INITIALIZER_FILE, OpenApiActionInfo, OpenApiRoute, renderDocsInitializer, renderDocsPage, swaggerUiAssetsDir } from "../platform/http/openapi";
import { healthPaths } from "../platform/http/health-openapi";
import type { ServiceDeps } from "./deps";
import { CONTRACTS } from "../contracts";
import { redactUrl } from "../platform/config/env";
import { buildAsyncApiDocument, renderEventCataloguePage } from "../platform/http/asyncapi";
import pkg from "../package.json";
import type { Caller } from "../contracts/identity";
import { AppError, isAppError } from "../platform/errors/app-error";
import { verifiedCaller, type CallMeta } from "../platform/moleculer/authorization";
import { clientAddressResolver, limitKeyOf } from "../platform/http/client-address";
import { SharedRateLimitStore } from "../platform/http/rate-limit-store";
import { allowedMethods, hasNonJsonBody, pathOf, URL_MAX_LENGTH, type RoutedAlias } from "../platform/http/http-semantics";
import { inspectInput } from "../platform/http/input-guard";
import { inputError } from "../platform/moleculer/input-guard";
import { leanGatewayMethods } from "../platform/http/lean-gateway";
import { createLiveGateway, type LiveGateway } from "../platform/http/live-gateway";
import { livePaths } from "../platform/http/live-openapi";
import { trackedContexts } from "../platform/moleculer/context-tracker";
import { validatorRulesOf } from "../platform/moleculer/validator-rules";
import { liveContract } from "../contracts/live";
import type { NotificationCreatedEvent } from "../contracts/notifications";

type Req = IncomingMessage & { $ctx?: unknown; query?: Record<string, unknown> };
type Res = ServerResponse;

/** What moleculer-web adds to the service it is mixed into; its typings declare none of it. */
interface MoleculerWebMembers {
	server: import("node:http").Server;
	routes: Array<{ path: string }>;
	aliases: Array<RoutedAlias & { fullPath: string; action?: string }>;
	regenerateAllAutoAliases(): void;
}
type GatewayService = Service<LootopiaSettings & Record<string, unknown>> & MoleculerWebMembers;

const DOCS_ASSETS = new Map<string, string>([
	["swagger-ui-bundle.js", "application/javascript; charset=utf-8"],
	["swagger-ui.css", "text/css; charset=utf-8"],
]);

function sendJson(res: Res, status: number, body: unknown, headers: Record<string, string> = {}): void {
	const payload = JSON.stringify(body);
	res.statusCode = status;
	res.setHeader("Content-Type", "application/json; charset=utf-8");
	for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
	res.end(payload);
}

const RATE_LIMIT_WINDOW_MS = 60_000;

function bearerToken(req: Req): string | undefined {
	const header = req.headers.authorization;
	if (!header) return undefined;
	const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
	if (!match) throw new AppError("INVALID_TOKEN", "The Authorization header must be `Bearer <access token>`");
	return match[1];
}

/** The docs' group headings. A tag without a line here still works; the linter test asks for one. */
const OPENAPI_TAGS: Record<string, string> = {
	auth: "Accounts, sign-in and sessions: tokens for everything else.",
	users: "Profiles: what players see of each other, and account deletion.",
	partners: "Organisations that design hunts and sponsor rewards, and their members.",
	hunts: "Hunts partners design (drafts, clues, paths, publishing) and players find.",
	play: "Joining a hunt and playing it: positions, answers, hints; the server decides what was found.",
	notifications: "Each user's inbox, and its live push (server-sent events, WebSocket).",
	rewards: "Rewards partners sponsor on hunts: claims, codes and their redemption.",
	admin: "Operations reserved to platform admins.",
	audit: "The append-only, hash-chained audit log.",
	system: "Reachability and the server clock.",
	health: "Liveness and readiness probes for orchestrators.",
	docs: "This document and the page that renders it.",
};

/** Refuses, before any action runs, a URL too long to be a real one and a body that is not JSON. */
function requestShapeGuard(req: Req, _res: Res, next: (err?: unknown) => void): void {
	if ((req.url ?? "").length > URL_MAX_LENGTH) return next(new AppError("URI_TOO_LONG", undefined, { maxLength: URL_MAX_LENGTH }));
	if (hasNonJsonBody(req)) return next(new AppError("UNSUPPORTED_MEDIA_TYPE", "The request body must be JSON (Content-Type: application/json)"));
	next();
}

/** Node's parser refuses oversized headers before any handler runs; the client still gets the envelope. */
function answerParserErrors(server: { on(event: "clientError", listener: (err: NodeJS.ErrnoException, socket: import("node:net").Socket) => void): void }): void {
	server.on("clientError", (err, socket) => {
		// As Node's own handler: never write into a response already under way on this connection
		// (pipelining), and a connection the client reset or let time out gets no answer.
		const inFlight = (socket as unknown as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
		if (!socket.writable || inFlight?.headersSent || err.code === "ECONNRESET" || err.code === "ERR_HTTP_REQUEST_TIMEOUT") return socket.destroy();
		const code = err.code === "HPE_HEADER_OVERFLOW" ? "HEADERS_TOO_LARGE" : "BAD_REQUEST";
		const rendered = renderError(new AppError(code));
		const body = JSON.stringify(rendered.body);
		socket.end(
			`HTTP/1.1 ${rendered.status} ${code === "HEADERS_TOO_LARGE" ? "Request Header Fields Too Large" : "Bad Request"}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
		);
	});
}

export function createApiService({ config, backends }: ServiceDeps): ServiceSchema {
	const securityHeaders = apiSecurityHeaders({ hsts: config.isProduction });
	const perRequestLogs = config.log.level === "debug" || config.log.level === "trace" ? "debug" : null;
	const clientAddress = clientAddressResolver(config.http.trustProxy);
	let rateLimitStore: SharedRateLimitStore | undefined;
	const corsOrigins = config.http.corsOrigins;
	let openApiCache: unknown;
	let asyncApiCache: Record<string, unknown> | undefined;
	/** From the contracts and this cluster's settings: the same until the node restarts. */
	const eventCatalogue = () =>
		(asyncApiCache ??= buildAsyncApiDocument({
			contracts: CONTRACTS,
			version: pkg.version,
			namespace: config.namespace,
			serializer: config.serializer,
			...(config.transporter ? { transporter: redactUrl(config.transporter) } : {}),
			channelsBackend: redactUrl(config.channelsUrl),
		}));
	let aliasesReady = false;
	let brokerStarted = false;

	/** The service as moleculer-web makes it (set when it is created): its server, routes and aliases. */
	let gateway!: GatewayService;
	/** Live notifications (SSE and WebSocket) on this node: platform/http/live-gateway.ts. */
	let live!: LiveGateway;
	const adopt = (service: GatewayService) => {
		gateway = service;
		live = createLiveGateway({
			broker: service.broker,
			settings: config.live,
			corsOrigins,
			securityHeaders,
			rateLimit: () =>
				rateLimitStore && {
					inc: (key: string) => rateLimitStore!.inc(key),
					secondsToReset: () => rateLimitStore!.secondsToReset(),
					limit: config.rateLimitPerMinute,
				},
			clientKey: req => limitKeyOf(clientAddress(req)),
			logger: service.logger,
		});
	};

	/**
	 * What readiness needs and the gateway lacks: the /health and /api routes, and an alias for
	 * every action with a `rest` declaration in a service started on this node.
	 */
	const missingRoutes = (): string[] => {
		const paths = new Set(gateway.routes.map(route => route.path));
		const missing = ["/health", "/api"].filter(path => !paths.has(path));
		const aliased = new Set(gateway.aliases.map(alias => alias.action).filter(Boolean));
		for (const item of gateway.broker.registry.getActionList({ onlyLocal: true, skipInternal: true, withEndpoints: false }) as Array<{ name: string; action?: { rest?: unknown } }>) {
			if (item.action?.rest && !aliased.has(item.name)) missing.push(item.name);
		}
		return missing;
	};

	const buildOpenApi = () => {
		const routes: OpenApiRoute[] = [];
		for (const alias of gateway.aliases) {
			if (!alias.action || alias.method === "*") continue;
			routes.push({ method: alias.method as OpenApiRoute["method"], path: alias.fullPath, action: alias.action });
		}
		const actions = new Map<string, OpenApiActionInfo>();
		for (const item of gateway.broker.registry.getActionList({ skipInternal: true, withEndpoints: false }) as Array<{
			name: string;
			action?: { params?: Record<string, unknown>; openapi?: OpenApiActionInfo["openapi"]; access?: OpenApiActionInfo["access"]; idempotencyKey?: boolean };
		}>) {
			actions.set(item.name, { name: item.name, params: item.action?.params, openapi: item.action?.openapi, access: item.action?.access, idempotencyKey: item.action?.idempotencyKey === true });
		}
		return buildOpenApiDocument({
			info: {
				title: "Lootopia API",
				version: pkg.version,
				description:
					"Location-based treasure hunts. Every error is `{ error: { code, message, details? } }`. " +
					"The events the services announce are catalogued at /api/asyncapi.json (AsyncAPI 3), rendered at /api/docs/events. " +
					`Prometheus metrics are served by each node on its metrics port (METRICS_PORT, default ${config.metrics.port}) at /metrics when METRICS_ENABLED=true, not through this gateway.`,
				// package.json says UNLICENSED: all rights reserved.
				license: { name: "Proprietary (UNLICENSED)", identifier: "LicenseRef-Proprietary" },
			},
			// Relative: generated clients call whichever host served them the document.
			servers: [{ url: "/" }],
			tagDescriptions: OPENAPI_TAGS,
			routes,
			actions,
			extraPaths: { ...healthPaths(), ...livePaths() },
		});
	};

	const sendDocsAsset = (file: string, res: Res) => {
		if (file === DOCS_INITIALIZER_FILE) {
			res.setHeader("Content-Type", "application/javascript; charset=utf-8");
			res.end(renderDocsInitializer("/api/openapi.json"));
			return;
		}
		const type = DOCS_ASSETS.get(file);
		if (!type) {
			sendJson(res, 404, renderError({ name: "NotFoundError" }).body);
			return;
		}
		res.setHeader("Content-Type", type);
		res.setHeader("Cache-Control", "public, max-age=86400");
		fs.createReadStream(path.join(swaggerUiAssetsDir, file)).pipe(res);
	};

	const schema: ServiceSchema<LootopiaSettings & Record<string, unknown>, Record<string, never>, MoleculerWebMembers> = {
		name: "api",
		mixins: [ApiGateway as unknown as ServiceSchema],

		settings: {
			port: config.http.port,
			ip: config.http.host,
			// Each request starts here, matched or not: give it a safe id every log line and the
			// response carry.
			rootCallOptions(options: { requestID?: string }, req: Req, _res: Res) {
				const id = acceptRequestId(req.headers["x-request-id"]);
				req.headers["x-request-id"] = id;
				delete req.headers["x-correlation-id"];
				// moleculer-web's `rest` handler puts it in the X-Request-ID response header.
				options.requestID = id;
				// HEAD is GET without the body: routed as GET, and Node sends no body for a HEAD request.
				if (req.method === "HEAD") req.method = "GET";
			},
			use: [securityHeaders, requestShapeGuard],
			cors: corsOrigins.length
				? {
						origin: corsOrigins.includes("*") ? "*" : corsOrigins,
						methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
						allowedHeaders: ["Content-Type", "Authorization", "X-Request-ID", "Idempotency-Key"],
						exposedHeaders: ["X-Request-ID", "Retry-After"],
						credentials: false,
						maxAge: 600,
					}
				: undefined,
			// Per-request logs only at debug level: at info they would cost more than the request. Off
			// below it: moleculer-web builds each line (colours, padding) before the logger drops it.
			logRequest: perRequestLogs,
			logResponse: perRequestLogs,
			log4XXResponses: false,
			logRouteRegistration: "debug",
			debounceTime: 100,
			optimizeOrder: true,

			routes: [
				{
					path: "/health",
					bodyParsers: false,
					autoAliases: false,
					mappingPolicy: "restrict",
					aliases: {
						"GET live"(_req: Req, res: Res) {
							sendJson(res, 200, { status: "up", nodeID: gateway.broker.nodeID, uptimeSeconds: Math.round(process.uptime()) });
						},
						async "GET ready"(_req: Req, res: Res) {
							const report = await backends.health();
							const missing = aliasesReady ? missingRoutes() : ["(routes not generated yet)"];
							const gateway = missing.length ? "down" : "up";
							const status = report.status === "up" && gateway === "up" ? "up" : "down";
							sendJson(res, status === "up" ? 200 : 503, { ...report, status, gateway, ...(missing.length ? { missingRoutes: missing } : {}) }, { "Cache-Control": "no-store" });
						},
					},
				},
				{
					path: "/api",
					// moleculer-web keeps one route per path, so the documentation endpoints live here
					// beside the aliases generated from the services' `rest` declarations.
					aliases: {
						"GET openapi.json"(_req: Req, res: Res) {
							openApiCache ??= buildOpenApi();
							sendJson(res, 200, openApiCache);
						},
						"GET docs"(_req: Req, res: Res) {
							res.setHeader("Content-Security-Policy", DOCS_PAGE_CSP);
							res.setHeader("Content-Type", "text/html; charset=utf-8");
							res.end(renderDocsPage({ specUrl: "/api/openapi.json", assetsBase: "/api/docs/assets", title: "Lootopia API" }));
						},
						"GET asyncapi.json"(_req: Req, res: Res) {
							sendJson(res, 200, eventCatalogue());
						},
						"GET docs/events"(_req: Req, res: Res) {
							res.setHeader("Content-Security-Policy", DOCS_PAGE_CSP);
							res.setHeader("Content-Type", "text/html; charset=utf-8");
							res.end(renderEventCataloguePage(eventCatalogue(), "/api/asyncapi.json"));
						},
						"GET docs/assets/:file"(req: Req & { $params?: { file?: string } }, res: Res) {
							sendDocsAsset(req.$params?.file ?? "", res);
						},
						"GET notifications/stream"(req: Req, res: Res, next: (err?: unknown) => void) {
							live.serveStream(req, res).then(
								() => {
									// Open for as long as the client stays: a stopping node closes it (stopped()) instead of waiting for it.
									if (req.$ctx) trackedContexts(gateway as unknown as Service).delete(req.$ctx as Context);
								},
								err => {
									// A full node is expected under a reconnection storm: answered without moleculer-web's error log per refusal.
									if (!isAppError(err, "LIVE_CAPACITY_REACHED") || res.headersSent) return next(err);
									const rendered = renderError(err);
									sendJson(res, rendered.status, rendered.body, rendered.headers);
								},
							);
						},
					},
					autoAliases: true,
					// The services' fixed-path actions (GET /api/ping, ...) skip moleculer-web's per-request
					// routing (platform/http/lean-gateway.ts): every route feature below still applies.
					lean: config.http.leanRoutes,
					// Establishes the caller for every request; each service checks again on its own.
					authentication: true,
					onBeforeCall(_ctx: Context, _route: unknown, req: Req & { $action?: { secrets?: readonly string[] }; $endpoint?: { local?: boolean }; body?: unknown; $params?: unknown }) {
						// A local action gets the input guard middleware's check; one on another node does too,
						// but only after the call was serialized for the transporter, which overflows on deep nesting.
						if (!req.$endpoint?.local) {
							const problem = inspectInput(req.body) ?? inspectInput(req.query) ?? inspectInput(req.$params);
							if (problem) throw inputError(problem);
						}
						const inUrl = (req.$action?.secrets ?? []).filter(name => req.query && Object.prototype.hasOwnProperty.call(req.query, name));
						if (inUrl.length)
							throw new AppError(
								"VALIDATION_FAILED",
								undefined,
								inUrl.map(field => ({ field, message: `The '${field}' field must be sent in the JSON body, never in the URL`, rule: "secret" })),
							);
					},
					rateLimit: config.rateLimitPerMinute
						? {
								window: RATE_LIMIT_WINDOW_MS,
								limit: config.rateLimitPerMinute,
								// X-Rate-Limit-* on every response cost about a tenth of the gateway's throughput
								// (bench/); a limited client still gets Retry-After.
								headers: false,
								key: (req: Req) => limitKeyOf(clientAddress(req)),
								StoreFactory: function (this: unknown, windowMs: number, options: { limit: number }) {
									rateLimitStore = new SharedRateLimitStore(backends.keyValueStore(), windowMs, options.limit, Date.now, err =>
										gateway.logger.warn("Rate limit counts could not be settled with the shared store; kept for the next try", err),
									);
									return rateLimitStore;
								},
							}
						: undefined,
					// Only actions that declare a `rest` route are reachable; nothing by naming convention.
					mappingPolicy: "restrict",
					bodyParsers: { json: { limit: config.http.bodyLimit, strict: true }, urlencoded: false },
					// A tiny JSON API gains nothing from ETag hashing on every response.
					etag: false,
					callOptions: { timeout: config.requestTimeoutMs },
				},
			],

			onError(req: Req, res: Res, err: unknown) {
				// No alias for this method: a path served with other methods answers 405 with Allow, and
				// OPTIONS (without a CORS preflight, which moleculer-web answers itself) 204 with Allow.
				if ((err as { name?: string })?.name === "NotFoundError" && !res.headersSent) {
					const allow = allowedMethods(gateway.aliases, pathOf((req as { originalUrl?: string }).originalUrl ?? req.url));
					if (allow.length) {
						if (!res.hasHeader("Content-Security-Policy")) securityHeaders(req, res, () => undefined);
						if (req.method === "OPTIONS") {
							res.statusCode = 204;
							res.setHeader("Allow", allow.join(", "));
							res.end();
							return;
						}
						err = new AppError("METHOD_NOT_ALLOWED", undefined, { allow });
						res.setHeader("Allow", allow.join(", "));
					}
				}
				// moleculer-web has already logged a 5xx with its stack; the client gets none of it.
				let rendered = renderError(err);
				if ((err as { name?: string })?.name === "RateLimitExceeded" && rateLimitStore) {
					rendered = { ...rendered, headers: { ...rendered.headers, "Retry-After": String(rateLimitStore.secondsToReset()) } };
				}
				if (res.headersSent) return;
				// Errors raised before any route matched skipped the route middlewares.
				if (!res.hasHeader("Content-Security-Policy")) securityHeaders(req, res, () => undefined);
				sendJson(res, rendered.status, rendered.body, rendered.headers);
			},
		},

		// moleculer-web's own actions would let any node on the transporter list, add or remove routes
		// (one call could drop all of /api). Routes come from the services' `rest` declarations only.
		actions: {
			listAliases: false,
			addRoute: false,
			removeRoute: false,
			/** Operators (the REPL's `live` command asks every gateway node): this node's connections of a user. */
			liveConnections: {
				access: "admin",
				params: validatorRulesOf(liveContract.actions.liveConnections.params) as ActionSchema["params"],
				handler(ctx: Context<{ userId: string }>) {
					return { nodeID: ctx.broker.nodeID, total: live.hub.size, items: live.hub.connectionsOf(ctx.params.userId.toLowerCase()) };
				},
			},
		},

		created() {
			adopt(this);
			answerParserErrors(this.server);
			this.server.on("upgrade", (req, socket, head) => void live.handleUpgrade(req, socket, head));
		},

		started() {
			live.start();
		},

		stopped() {
			// Before moleculer-web closes the server, which would wait for these connections to end.
			live.stop();
			rateLimitStore?.close();
		},

		events: {
			// Ready only once the routes of every service started on this node are in: aliases are
			// regenerated as services register, and a probe that passed on the first regeneration
			// would send traffic to routes that answer 404 for a moment.
			"$broker.started"() {
				brokerStarted = true;
				this.regenerateAllAutoAliases();
			},
			"$api.aliases.regenerated"() {
				if (brokerStarted) aliasesReady = true;
				openApiCache = undefined;
			},
			// Broadcast by the notifications service: this node pushes it to the user's connections here, if any.
			"notification.created"(ctx: Context<NotificationCreatedEvent>) {
				const event = ctx.params;
				if (typeof event?.userId !== "string" || !Number.isSafeInteger(event.notification?.id)) return;
				live.hub.publish({ userId: event.userId.toLowerCase(), push: event.push !== false, notification: event.notification });
			},
		},

		methods: {
			// One Context and one middleware chain per request instead of two (platform/http/lean-gateway.ts).
			httpHandler: leanGatewayMethods.httpHandler,
			callAction: leanGatewayMethods.callAction,

			/** moleculer-web's hook: the token and client address travel in meta to every service called. */
			async authenticate(ctx: Context, _route: unknown, req: Req & { $action?: { name?: string; access?: unknown; idempotencyKey?: boolean } }): Promise<Caller | null> {
				const meta = ctx.meta as CallMeta & IdempotencyMeta & { user?: Caller };
				meta.clientIp = clientAddress(req);
				if (req.$action?.idempotencyKey && req.$action.name) {
					const key = acceptIdempotencyKey(req.headers[IDEMPOTENCY_KEY_HEADER]);
					if (key !== undefined) meta.idempotencyKey = { key, action: req.$action.name };
				}
				// Public operations (and the gateway's own pages) serve anyone: a client's expired or broken
				// token must not lock it out of logging in again, so there it counts as no token.
				const isPublic = !req.$action?.access || req.$action.access === "public";
				let token: string | undefined;
				try {
					token = bearerToken(req);
					if (!token) return null;
					// Forged, expired and foreign tokens stop here. Whether the session was revoked is a store
					// lookup that every guarded action makes anyway, so it is not made twice per request.
					const caller = await verifiedCaller(gateway.broker, token, { checkRevocation: false });
					meta.accessToken = token;
					return caller;
				} catch (err) {
					if (isPublic && (isAppError(err, "INVALID_TOKEN") || isAppError(err, "TOKEN_EXPIRED"))) return null;
					throw err;
				}
			},
		},
	};
	// The broker takes schemas of any settings type; `this` in a typed schema is only narrower.
	return schema as unknown as ServiceSchema;
}
