/**
 * Tracing that costs nothing on requests it does not sample. Moleculer's Tracing middleware builds
 * a span (tags copied from params, ids, a name) for every action call and only then asks whether to
 * keep it, so at a 1 % sampling rate 99 requests in 100 still paid almost the whole cost. This asks
 * first, the way Moleculer's span would (the tracer's rate, per second limit or priority), records
 * the answer in the Context (which its child calls, local or on other nodes, inherit) and leaves
 * unsampled calls untouched. Sampled calls get Moleculer's own spans, unchanged.
 */
import { stockMiddleware } from "./stock-middleware";
import type { Context, Middleware, ServiceBroker } from "moleculer";

type Handler = (ctx: Context) => Promise<unknown>;
type Wrapper = (this: unknown, next: Handler, definition: unknown) => Handler;
/** Moleculer's default span priority, which a `minPriority` sampling option compares with. */
const DEFAULT_SPAN_PRIORITY = 5;

export function SampledTracingMiddleware(broker: ServiceBroker): Middleware {
	const stock = stockMiddleware("Tracing", broker);
	const tracer = (broker as unknown as { tracer: { shouldSample(span: { priority: number }): boolean } }).tracer;
	const sampledOnly = (wrapStock: Wrapper | null | undefined): Wrapper | null => {
		if (!wrapStock) return null;
		return function (this: unknown, next, definition) {
			const traced = wrapStock.call(this, next, definition);
			if (traced === next) return next;
			return function sampledOnly(ctx: Context): Promise<unknown> {
				if (ctx.tracing == null) ctx.tracing = tracer.shouldSample({ priority: DEFAULT_SPAN_PRIORITY });
				return ctx.tracing ? traced(ctx) : next(ctx);
			};
		};
	};
	return {
		...stock,
		localAction: sampledOnly(stock.localAction as Wrapper | null),
		localEvent: sampledOnly(stock.localEvent as Wrapper | null),
	} as unknown as Middleware;
}
