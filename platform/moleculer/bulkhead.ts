/**
 * The bulkhead for actions, as Moleculer's (which this replaces for actions; its event bulkhead is
 * kept): at most `concurrency` calls of an action run at once on this node, up to `maxQueueSize`
 * more wait in order, and the next one is refused with QueueIsFullError. Moleculer's sets its two
 * gauges (in flight, queued) four times per call, each time hashing labels in the registry; this
 * one keeps plain counters and publishes them to the same gauges once a second, like our request
 * metrics (platform/moleculer/metrics.ts).
 */
import * as Moleculer from "moleculer";
import type { Context, Middleware, ServiceBroker } from "moleculer";
import { publishedEverySecond } from "./metrics";
import { stockMiddleware } from "./stock-middleware";

const { METRIC } = Moleculer;

interface Waiting {
	ctx: Context;
	resolve(value: unknown): void;
	reject(err: unknown): void;
}

interface Gate {
	labels: { action: string; service: string | undefined };
	inFlight: number;
	queue: Waiting[];
	/** What the gauges last said; "0/0" until the first call, so an action never called has no series, as with Moleculer's. */
	published: string;
}

export function LeanBulkheadMiddleware(broker: ServiceBroker): Middleware {
	const stock = stockMiddleware("Bulkhead", broker);
	const gates = new Set<Gate>();

	function publish(): void {
		for (const gate of gates) {
			const state = `${gate.inFlight}/${gate.queue.length}`;
			if (state === gate.published) continue;
			gate.published = state;
			broker.metrics.set(METRIC.MOLECULER_REQUEST_BULKHEAD_INFLIGHT, gate.inFlight, gate.labels);
			broker.metrics.set(METRIC.MOLECULER_REQUEST_BULKHEAD_QUEUE_SIZE, gate.queue.length, gate.labels);
		}
	}

	function wrap(this: ServiceBroker, handler: (ctx: Context) => Promise<unknown>, action: { name: string; bulkhead?: object; service?: { fullName: string } }) {
		const opts = { ...(this.options.bulkhead ?? {}), ...(action.bulkhead ?? {}) } as { enabled?: boolean; concurrency?: number; maxQueueSize?: number };
		if (!opts.enabled) return handler;
		const concurrency = opts.concurrency ?? 3;
		const maxQueueSize = opts.maxQueueSize ?? 0;
		const gate: Gate = { labels: { action: action.name, service: action.service?.fullName }, inFlight: 0, queue: [], published: "0/0" };
		if (broker.isMetricsEnabled()) gates.add(gate);

		const run = (ctx: Context): Promise<unknown> => {
			gate.inFlight++;
			return handler(ctx).finally(() => {
				gate.inFlight--;
				const next = gate.queue.shift();
				if (next) run(next.ctx).then(next.resolve, next.reject);
			});
		};

		return function bulkheaded(ctx: Context): Promise<unknown> {
			if (gate.inFlight < concurrency) return run(ctx);
			if (maxQueueSize && gate.queue.length >= maxQueueSize) return Promise.reject(new Moleculer.Errors.QueueIsFullError({ action: action.name, nodeID: ctx.nodeID } as never));
			return new Promise((resolve, reject) => gate.queue.push({ ctx, resolve, reject }));
		};
	}

	return {
		...stock,
		localAction: wrap,
		...publishedEverySecond(broker, publish),
	} as unknown as Middleware;
}
