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
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Errors, type Context, type Service, type ServiceBroker } from "moleculer";
import ApiGateway from "moleculer-web";
import { trackedContexts } from "../moleculer/context-tracker";

type Req = IncomingMessage & Record<string, unknown> & { $ctx?: Context };
type Res = ServerResponse & Record<string, unknown>;
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
					result = await stock.actions.rest.handler.call(this, ctx);
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
		this.sendResponse(req, res, data, endpoint.action);
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
