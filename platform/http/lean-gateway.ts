/**
 * moleculer-web answers each request by calling its own private `rest` action, so every request
 * made two Contexts and ran two middleware chains: one for that forwarding hop, one for the action
 * the route names. These two overrides of its methods (moleculer-web's documented way to change its
 * behaviour) keep everything it does — routing, body parsing, route middlewares, CORS, rate limit,
 * hooks, authentication, response writing, error handling — and change only that: the request gets
 * one Context, made here, and the target action runs in it (`broker.call` reuses a Context passed
 * as `ctx`, as Moleculer's own Retry middleware does).
 *
 * A request the tracer samples keeps moleculer-web's own path, so its trace still shows the HTTP
 * span with the action's span under it.
 *
 * Requests to a route declared `lean: true` also skip moleculer-web's per-request routing when
 * they name a fixed-path action (below, "The lean route"). That bypass is behind its own route
 * option, and GATEWAY_LEAN_ROUTES=false turns it off, because it reaches into moleculer-web's
 * internals (its alias list and `aliasHandler`), which a new moleculer-web version may change:
 * test/integration/lean-routes.test.ts compares the two paths request by request.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Errors, type Context, type Service, type ServiceBroker } from "moleculer";
import ApiGateway from "moleculer-web";
import { trackedContexts } from "../moleculer/context-tracker";
import type { StaticHeadersMiddleware } from "./security-headers";

type Req = IncomingMessage & Record<string, unknown> & { $ctx?: Context };
type Res = ServerResponse & Record<string, unknown> & { [HELD_HEADERS]?: string[] };
type Handler = (this: unknown, ...args: unknown[]) => unknown;

interface GatewayRoute {
	callOptions?: Record<string, unknown>;
	onAfterCall?: (this: unknown, ctx: Context, route: GatewayRoute, req: Req, res: Res, data: unknown) => unknown;
	logging?: boolean;
}

/** What of moleculer-web's service these methods use; its typings declare none of it. */
interface GatewaySettings {
	rootCallOptions?: (this: Gateway, options: object, req: Req, res: Res) => void;
	logRequest?: string;
	logRequestParams?: string;
}

interface Gateway extends Service {
	actions: Service["actions"] & { rest(params: unknown, opts: { ctx: Context }): Promise<unknown> };
	corsHandler(settings: unknown, req: Req, res: Res): boolean;
	serve?: (req: Req, res: Res, next: (err?: unknown) => void) => void;
	send404(req: Req, res: Res): void;
	errorHandler(req: Req, res: Res, err: unknown): void;
	sendResponse(req: Req, res: Res, data: unknown, action: unknown): void;
	logResponse(req: Req, res: Res, data: unknown): void;
}

/** moleculer-web's own `rest` handler and `callAction`, which these overrides call into. */
const stock = ApiGateway as unknown as {
	actions: { rest: { handler: (this: Gateway, ctx: Context) => Promise<unknown> } };
	methods: { callAction: Handler };
};

interface SamplingTracer {
	shouldSample(span: { priority: number }): boolean;
}

/**
 * Headers the lean route holds back to send with the response head in one `writeHead` (name, value,
 * name, value): the request id and the route's fixed headers. Node validates and stores a header
 * set with `setHeader` one call at a time, which cost more than the rest of the answer's headers.
 */
const HELD_HEADERS = Symbol("headers held for the response head");

/** Marks the Contexts made here: their request runs on the lean path. */
const LEAN = Symbol("lean gateway request");

export const leanGatewayMethods = {
	async httpHandler(this: Gateway, req: Req, res: Res, next?: unknown): Promise<void> {
		req.$startTime = process.hrtime();
		req.$service = this;
		req.$next = next;
		res.$service = this;
		res.locals = res.locals || {};

		const options: { requestID?: string; caller: string } = { requestID: (req.headers["x-correlation-id"] ?? req.headers["x-request-id"]) as string | undefined, caller: this.fullName };
		(this.settings as GatewaySettings).rootCallOptions?.call(this, options, req, res);

		const broker = this.broker as ServiceBroker & { ContextFactory: { create(broker: ServiceBroker, endpoint: null, params: null, opts: object): Context }; tracer: SamplingTracer };
		const ctx = broker.ContextFactory.create(broker, null, null, options);
		ctx.params = { req, res };
		ctx.service = this;
		let result: unknown;
		try {
			if (broker.isTracingEnabled() && (ctx.tracing = broker.tracer.shouldSample({ priority: 5 }))) {
				result = await this.actions.rest(null, { ctx: withRestEndpoint(ctx, this) });
			} else {
				(ctx as unknown as Record<symbol, boolean>)[LEAN] = true;
				// Tracked like the stock path's `rest` call, so a stopping gateway waits for it.
				const tracked = trackedContexts(this);
				tracked.add(ctx);
				try {
					const alias = leanAliasFor(this, req);
					result = alias ? await serveLeanRoute(this, ctx, req, res, alias) : await stock.actions.rest.handler.call(this, ctx);
				} finally {
					tracked.delete(ctx);
				}
			}
			if (result == null) {
				// Not routed: as moleculer-web.
				if (this.corsHandler(this.settings, req, res)) return;
				if (this.serve) {
					this.serve(req, res, err => {
						this.logger.debug(err);
						this.send404(req, res);
					});
					return;
				}
				this.send404(req, res);
			}
		} catch (err) {
			// An error answer carries the headers the lean route held back for the response head.
			if (!res.headersSent) applyHeldHeaders(res);
			// As Moleculer's ErrorHandler middleware did for the stock path's `rest` action.
			this.errorHandler(req, res, err instanceof Error ? err : new Errors.MoleculerError(String(err), 500));
		}
	},

	async callAction(this: Gateway, route: GatewayRoute, actionName: string, req: Req, res: Res, params: Record<string, unknown>, isStream: boolean): Promise<unknown> {
		const ctx = req.$ctx!;
		if (!(ctx as unknown as Record<symbol, boolean>)[LEAN]) return stock.methods.callAction.call(this, route, actionName, req, res, params, isStream);

		const endpoint = req.$endpoint as { action: unknown };
		if ((req.$alias as { passReqResToParams?: boolean } | undefined)?.passReqResToParams) {
			params.$req = req;
			params.$res = res;
		}
		const settings = this.settings as GatewaySettings;
		if (route.logging && settings.logRequest) this.logger.debug(`   Call '${actionName}' action`);
		if (route.logging && settings.logRequestParams) this.logger.debug("   Params:", params);
		ctx.params = params;
		Object.assign(ctx.options, route.callOptions);
		// Transit reads a stream for another node from the options; a local action from ctx.stream.
		if (isStream) ctx.options.stream = req as unknown as NonNullable<typeof ctx.options.stream>;
		let data = await this.broker.call(endpoint as unknown as string, params, { ...route.callOptions, ctx, ...(isStream ? { stream: req } : {}) } as object);
		if (route.onAfterCall) data = await route.onAfterCall.call(this, ctx, route, req, res, data);
		if (!(res[HELD_HEADERS] && sendPlainJson(this, ctx, req, res, data, endpoint.action))) {
			applyHeldHeaders(res);
			this.sendResponse(req, res, data, endpoint.action);
		}
		if (route.logging) this.logResponse(req, res, data);
		return true;
	},
};

/**
 * The `rest` action's endpoint, which the stock path's middlewares read from the Context. The
 * action is private, so the registry lists no endpoint for it; one is made from its definition the
 * way Moleculer makes the one behind `this.actions.rest`.
 */
const restEndpoints = new WeakMap<Gateway, unknown>();
function withRestEndpoint(ctx: Context, gateway: Gateway): Context {
	let endpoint = restEndpoints.get(gateway);
	if (!endpoint) {
		const internals = gateway as unknown as { _serviceSpecification: { actions: Record<string, unknown> } };
		const registry = gateway.broker.registry as unknown as { createPrivateActionEndpoint(action: unknown): unknown };
		endpoint = registry.createPrivateActionEndpoint(internals._serviceSpecification.actions[`${gateway.fullName}.rest`]);
		restEndpoints.set(gateway, endpoint);
	}
	(ctx as unknown as { setEndpoint(endpoint: unknown): void }).setEndpoint(endpoint);
	return ctx;
}

/**
 * The lean route: requests to the fixed-path action aliases of a route declared with `lean: true`
 * skip moleculer-web's `rest` handler and `routeHandler`. Those matched the URL against every
 * alias's regular expression and wrapped each request in a Promise waiting on three response
 * listeners, composing the route's middlewares anew; here the alias comes from a table and the rest
 * runs as they did, with moleculer-web's own pieces (query parsing, the route's middlewares, CORS,
 * `aliasHandler` with rate limit, endpoint, onBeforeCall, authentication, then `callAction`).
 * Anything else (an alias with path parameters or its own handler, a preflight, a route without
 * the option) takes moleculer-web's path. Measured in bench/gateway-features.bench.ts ("lean
 * routes off").
 */
interface Alias {
	action?: string;
	handler?: unknown;
	type?: string;
	keys: unknown[];
	route: GatewayRoute & { path: string; middlewares: Handler[]; opts: { lean?: boolean; mergeParams?: boolean }; hasWhitelist?: boolean; hasBlacklist?: boolean };
}

interface LeanTable {
	aliases: unknown;
	/** Method, then path as requested: the lean alias moleculer-web's own matching picks for it. */
	byMethod: Map<string, Map<string, Alias>>;
	size: number;
	/** Without one (GATEWAY_LEAN_ROUTES=false), no request is matched here at all. */
	anyLeanRoute: boolean;
}

/** Every fixed path of a route in each letter case a client is likely to send, many times over. */
const LEAN_TABLE_LIMIT = 1024;
const leanTables = new WeakMap<Gateway, LeanTable>();

function leanAliasFor(gateway: Gateway, req: Req): Alias | undefined {
	const method = req.method;
	// A preflight is matched by the method it asks about, and answered by the CORS handler.
	if (!method || method === "OPTIONS" || !req.url) return undefined;
	const internals = gateway as unknown as { aliases: Alias[]; resolveAlias(url: string, method?: string): { alias: Alias; params: object } | false };
	let table = leanTables.get(gateway);
	// moleculer-web replaces its alias list (filter, then push and sort) whenever it changes it.
	if (!table || table.aliases !== internals.aliases) {
		table = { aliases: internals.aliases, byMethod: new Map(), size: 0, anyLeanRoute: internals.aliases.some(alias => alias.route.opts.lean === true) };
		leanTables.set(gateway, table);
	}
	if (!table.anyLeanRoute) return undefined;
	const url = pathOf(req.url);
	let byPath = table.byMethod.get(method);
	const known = byPath?.get(url);
	if (known) return known;
	// A client inventing letter cases fills it: start over rather than stop learning, so the paths
	// clients really use come back at their next request.
	if (table.size >= LEAN_TABLE_LIMIT) {
		table.byMethod.clear();
		table.size = 0;
		byPath = undefined;
	}
	let found: ReturnType<typeof internals.resolveAlias>;
	try {
		found = internals.resolveAlias(url, method);
	} catch {
		// A path parameter that does not decode (`%E0%A4`): moleculer-web's path answers it (400),
		// with the request id it sets before matching.
		return undefined;
	}
	if (!found || !isLeanAlias(found.alias)) return undefined;
	if (!byPath) table.byMethod.set(method, (byPath = new Map()));
	byPath.set(url, found.alias);
	table.size++;
	return found.alias;
}

function isLeanAlias(alias: Alias): boolean {
	const route = alias.route;
	return (
		route.opts.lean === true &&
		route.opts.mergeParams !== false &&
		!route.hasWhitelist &&
		!route.hasBlacklist &&
		typeof alias.action === "string" &&
		typeof alias.handler !== "function" &&
		alias.type !== "stream" &&
		alias.keys.length === 0
	);
}

/** The path as moleculer-web matches it: without the query and a trailing slash. */
function pathOf(url: string): string {
	const question = url.indexOf("?", 1);
	const path = question === -1 ? url : url.slice(0, question);
	return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

async function serveLeanRoute(gateway: Gateway, ctx: Context, req: Req, res: Res, alias: Alias): Promise<unknown> {
	const service = gateway as Gateway & {
		parseQueryString(req: Req): { url: string; query: Record<string, unknown> };
		logRequest(req: Req): void;
		corsHandler(route: unknown, req: Req, res: Res): boolean;
		aliasHandler(req: Req, res: Res, alias: Alias): Promise<unknown>;
	};
	// What moleculer-web's `rest` handler does before routing.
	req.$ctx = ctx;
	res.$ctx = ctx;
	const held: string[] = (res[HELD_HEADERS] = []);
	if (ctx.requestID) held.push("X-Request-ID", ctx.requestID);
	if (!req.originalUrl) req.originalUrl = req.url;
	const parsed = service.parseQueryString(req);
	let url = parsed.url;
	if (url.length > 1 && url.endsWith("/")) url = url.slice(0, -1);
	req.parsedUrl = url;
	if (!req.query) req.query = parsed.query;
	const route = alias.route;
	req.baseUrl = route.path;
	req.url = (req.originalUrl as string).substring(route.path.length);
	if (req.url.length === 0 || req.url[0] !== "/") req.url = "/" + req.url;

	// What its `routeHandler` does for an alias.
	req.$route = route;
	res.$route = route;
	service.logRequest(req);
	const pending = runMiddlewares(gateway, req, res, route.middlewares);
	if (pending) await pending;
	if (service.corsHandler(route, req, res)) return true;
	const body = req.body;
	const params = Object.assign({}, body !== null && typeof body === "object" ? body : {}, req.query) as Record<string, unknown>;
	req.$params = params;
	req.$alias = alias;
	return service.aliasHandler(req, res, alias);
}

/**
 * moleculer-web's `composeThen` without its Promise when every middleware calls `next` at once, as
 * the security headers, the request guard and a body parser for a request without a body do.
 */
function runMiddlewares(gateway: Gateway, req: Req, res: Res, middlewares: Handler[]): Promise<void> | undefined {
	let outcome: { err?: unknown } | undefined;
	let wake: ((outcome: { err?: unknown }) => void) | undefined;
	const done = (err?: unknown) => {
		if (wake) wake({ err });
		else outcome = { err };
	};
	// moleculer-web's `compose`: an error skips to the next error middleware (four arguments).
	const step = (i: number, err?: unknown): void => {
		if (i >= middlewares.length) return done(err);
		const middleware = middlewares[i];
		const next = (nextErr?: unknown) => step(i + 1, nextErr);
		if (err) {
			if (middleware.length === 4) middleware.call(gateway, err, req, res, next);
			else next(err);
		} else if (isStaticHeaders(middleware)) {
			holdHeaders(res, middleware.staticHeaders);
			next();
		} else if (middleware.length < 4) middleware.call(gateway, req, res, next);
		else next();
	};
	step(0);
	if (outcome) {
		if (outcome.err) throw asMoleculerError(outcome.err);
		return undefined;
	}
	return new Promise((resolve, reject) => {
		wake = ({ err }) => (err ? reject(asMoleculerError(err)) : resolve());
	});
}

/** As `composeThen` turns a middleware's error into the one the error handler renders. */
function asMoleculerError(err: unknown): Error {
	if (err instanceof Errors.MoleculerError) return err;
	if (err instanceof Error) {
		const { code, status, type } = err as Error & { code?: unknown; status?: unknown; type?: unknown };
		return new Errors.MoleculerError(err.message, (code || status) as number, type as string);
	}
	return new Errors.MoleculerError(err as string);
}

function isStaticHeaders(middleware: Handler): middleware is Handler & StaticHeadersMiddleware {
	return Array.isArray((middleware as Partial<StaticHeadersMiddleware>).staticHeaders);
}

function holdHeaders(res: Res, headers: StaticHeadersMiddleware["staticHeaders"]): void {
	const held = res[HELD_HEADERS]!;
	for (const [name, value] of headers) held.push(name, value);
}

/**
 * Sets the held headers one by one, before anything else writes the answer. They were the first
 * set on moleculer-web's path, so a header set since (CORS, an action's own) keeps its value.
 */
function applyHeldHeaders(res: Res): void {
	const held = res[HELD_HEADERS];
	if (!held) return;
	res[HELD_HEADERS] = undefined;
	for (let i = 0; i < held.length; i += 2) if (!res.hasHeader(held[i])) res.setHeader(held[i], held[i + 1]);
}

const JSON_TYPE = "application/json; charset=utf-8";

/**
 * moleculer-web's `sendResponse` for its most common case, in one `writeHead`: a 200 with a plain
 * object or array as JSON, no header set along the way, nothing the action asked of the response
 * (status, headers, type, location), no ETag and no conditional request. False for anything else,
 * which `sendResponse` answers.
 */
function sendPlainJson(gateway: Gateway, ctx: Context, req: Req, res: Res, data: unknown, action: unknown): boolean {
	if (data === null || typeof data !== "object" || res.headersSent || res.statusCode !== 200) return false;
	const prototype = Object.getPrototypeOf(data);
	if ((prototype !== Object.prototype && !Array.isArray(data)) || (data as { type?: unknown }).type === "Buffer") return false;
	const meta = ctx.meta as Record<string, unknown>;
	if (meta.$statusCode || meta.$statusMessage || meta.$responseType || meta.$responseHeaders || meta.$location) return false;
	const declared = action as { responseType?: unknown; responseHeaders?: unknown } | undefined;
	if (declared?.responseType || declared?.responseHeaders || (req.$route as { etag?: unknown } | undefined)?.etag) return false;
	if (req.headers["if-none-match"] !== undefined || req.headers["if-modified-since"] !== undefined) return false;
	if (res.getHeaderNames().length > 0) return false;
	const body = (gateway as unknown as { encodeResponse(req: Req, res: Res, data: unknown): string | undefined }).encodeResponse(req, res, data);
	// A toJSON that answers undefined: sendResponse's empty answer.
	if (typeof body !== "string") return false;
	const head = res[HELD_HEADERS]!;
	res[HELD_HEADERS] = undefined;
	head.push("Content-Type", JSON_TYPE, "Content-Length", String(Buffer.byteLength(body)));
	res.writeHead(200, head);
	res.end(body);
	return true;
}
