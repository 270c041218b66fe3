/**
 * Request timeouts, as Moleculer's Timeout middleware (which this replaces in our middleware list),
 * without a timer and a Promise.race per call. Calls waiting on a timeout are kept per timeout
 * length; within one length they end in the order they started, so a sweep every
 * TIMEOUT_SWEEP_MS rejects the expired ones from the front of each list and stops at the first
 * still in time. A timeout therefore fires between its deadline and TIMEOUT_SWEEP_MS after it.
 */
import { Stream } from "node:stream";
import * as Moleculer from "moleculer";
import type { Context, Middleware, ServiceBroker } from "moleculer";

const { METRIC } = Moleculer;
export const TIMEOUT_SWEEP_MS = 25;

interface Waiting {
	deadline: number;
	ctx: Context;
	actionName: string;
	service: string | null;
	reject(err: Error): void;
}

export function SweptTimeoutMiddleware(broker: ServiceBroker): Middleware {
	const byLength = new Map<number, Set<Waiting>>();
	let waitingCount = 0;
	let sweeper: NodeJS.Timeout | undefined;

	function expire(entry: Waiting): void {
		const { ctx, actionName, service } = entry;
		broker.logger.warn(`Request '${actionName}' is timed out.`, { requestID: ctx.requestID, nodeID: ctx.nodeID, timeout: ctx.options.timeout });
		if (ctx.params instanceof Stream) ctx.params.emit("moleculer-timeout-middleware", ctx.options.timeout);
		if (broker.isMetricsEnabled()) broker.metrics.increment(METRIC.MOLECULER_REQUEST_TIMEOUT_TOTAL, { service, action: actionName });
		entry.reject(new Moleculer.Errors.RequestTimeoutError({ action: actionName, nodeID: ctx.nodeID } as ConstructorParameters<typeof Moleculer.Errors.RequestTimeoutError>[0]));
	}

	function forget(entry: Waiting, list: Set<Waiting>): boolean {
		if (!list.delete(entry)) return false;
		waitingCount--;
		return true;
	}

	function sweep(): void {
		const now = performance.now();
		for (const [timeoutMs, list] of byLength) {
			for (const entry of list) {
				if (entry.deadline > now) break;
				forget(entry, list);
				expire(entry);
			}
			// Emptied lists go here, not as each call ends (that would make a list per call in a
			// row): nested calls pass on what is left of a timeout, so lengths vary without end.
			if (list.size === 0) byLength.delete(timeoutMs);
		}
		if (waitingCount === 0 && sweeper) {
			clearInterval(sweeper);
			sweeper = undefined;
		}
	}

	function withTimeout(running: Promise<unknown>, ctx: Context, timeoutMs: number, actionName: string, service: string | null): Promise<unknown> {
		let list = byLength.get(timeoutMs);
		if (!list) byLength.set(timeoutMs, (list = new Set()));
		const waiting = list;
		return new Promise((resolve, reject) => {
			const entry: Waiting = { deadline: performance.now() + timeoutMs, ctx, actionName, service, reject };
			waiting.add(entry);
			waitingCount++;
			sweeper ??= setInterval(sweep, TIMEOUT_SWEEP_MS).unref();
			running.then(
				value => {
					if (forget(entry, waiting)) resolve(value);
				},
				err => {
					if (forget(entry, waiting)) reject(err);
				},
			);
		});
	}

	function wrap(handler: (ctx: Context) => Promise<unknown>, action: { name: string; timeout?: number; service?: { fullName: string } }) {
		const actionName = action.name;
		const service = action.service ? action.service.fullName : null;
		return function timedHandler(ctx: Context): Promise<unknown> {
			if (ctx.options.timeout == null) ctx.options.timeout = action.timeout ?? broker.options.requestTimeout;
			const timeoutMs = ctx.options.timeout ?? 0;
			// A nested ctx.call passes on what is left of the timeout, measured from here.
			if (timeoutMs > 0 && !ctx.startHrTime) ctx.startHrTime = process.hrtime();
			const running = handler(ctx);
			return timeoutMs > 0 ? withTimeout(running, ctx, timeoutMs, actionName, service) : running;
		};
	}

	return {
		name: "Timeout",
		created() {
			if (broker.isMetricsEnabled())
				broker.metrics.register({
					name: METRIC.MOLECULER_REQUEST_TIMEOUT_TOTAL,
					type: METRIC.TYPE_COUNTER,
					labelNames: ["service", "action"],
					description: "Number of timed out requests",
					rate: true,
				});
		},
		stopped() {
			if (sweeper) clearInterval(sweeper);
			sweeper = undefined;
		},
		localAction: wrap,
		remoteAction: wrap,
		/** How many timeout lengths have calls waiting (for tests: lists must not outlive their calls). */
		waitingLengths: () => byLength.size,
	} as unknown as Middleware;
}
