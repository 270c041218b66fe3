/**
 * Moleculer's internal middlewares, registered by us (broker option `internalMiddlewares: false`)
 * so that five are replaced by cheaper ones doing the same (REPLACED) and a few skip the gateway's
 * own `api.rest` action. Only requests the tracer samples still go through that action (the others
 * take platform/http/lean-gateway.ts's path); it only forwards to the real action, which gets every
 * middleware itself. middlewares.spec.ts checks this list against the broker's own default.
 */
import type { Middleware, ServiceBroker } from "moleculer";
import { AuthorizationMiddleware } from "./authorization";
import { InputGuardMiddleware } from "./input-guard";
import { ContextTrackerMiddleware } from "./context-tracker";
import { stockMiddleware } from "./stock-middleware";
import { AggregatedMetricsMiddleware } from "./metrics";
import { SweptTimeoutMiddleware } from "./timeout";
import { SampledTracingMiddleware } from "./tracing";
import { LeanBulkheadMiddleware } from "./bulkhead";

export const MOLECULER_INTERNAL_MIDDLEWARES = [
	"ActionHook",
	"Validator",
	"Bulkhead",
	"Cacher",
	"ContextTracker",
	"CircuitBreaker",
	"Timeout",
	"Retry",
	"Fallback",
	"ErrorHandler",
	"Tracing",
	"Metrics",
	"Debounce",
	"Throttle",
] as const;

export const GATEWAY_FORWARDING_ACTION = "api.rest";
const SKIPPED_ON_FORWARDING = new Set<string>(["Metrics", "Bulkhead", "CircuitBreaker", "Retry"]);

type MiddlewareFactory = (broker: ServiceBroker) => Middleware & { localAction?: (next: unknown, action: { name: string }) => unknown };

/** Moleculer's, done the same way at less cost per call (each file says how). Same names, same place. */
const REPLACED: Partial<Record<(typeof MOLECULER_INTERNAL_MIDDLEWARES)[number], MiddlewareFactory>> = {
	ContextTracker: ContextTrackerMiddleware as MiddlewareFactory,
	Metrics: AggregatedMetricsMiddleware as MiddlewareFactory,
	Timeout: SweptTimeoutMiddleware as MiddlewareFactory,
	Tracing: SampledTracingMiddleware as MiddlewareFactory,
	Bulkhead: LeanBulkheadMiddleware as MiddlewareFactory,
};

/**
 * Moleculer's list with ours placed around the Cacher (the last-registered middleware is the
 * outermost): the input guard, then authorization, so a refused call never reaches validation, a
 * cached result or the handler.
 */
export function internalMiddlewares(): Array<string | Middleware | ((broker: ServiceBroker) => Middleware)> {
	const list: Array<string | Middleware | ((broker: ServiceBroker) => Middleware)> = moleculerMiddlewares();
	list.splice(MOLECULER_INTERNAL_MIDDLEWARES.indexOf("Cacher") + 1, 0, AuthorizationMiddleware(), InputGuardMiddleware([GATEWAY_FORWARDING_ACTION]));
	return list;
}

function moleculerMiddlewares(): Array<string | ((broker: ServiceBroker) => Middleware)> {
	return MOLECULER_INTERNAL_MIDDLEWARES.map(name => {
		const replacement = REPLACED[name];
		if (!SKIPPED_ON_FORWARDING.has(name)) return replacement ?? name;
		// Exported at runtime, missing from the typings.
		const factory: MiddlewareFactory = replacement ?? (broker => stockMiddleware(name, broker) as ReturnType<MiddlewareFactory>);
		return (broker: ServiceBroker) => {
			const middleware = factory.call(broker, broker);
			const wrapLocalAction = middleware.localAction;
			if (!wrapLocalAction) return middleware;
			return {
				...middleware,
				localAction(this: unknown, next: unknown, action: { name: string }) {
					return action.name === GATEWAY_FORWARDING_ACTION ? next : wrapLocalAction.call(this, next, action);
				},
			} as Middleware;
		};
	});
}
