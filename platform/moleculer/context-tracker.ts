/**
 * Graceful shutdown, as Moleculer's ContextTracker (which this replaces in our middleware list):
 * every running request is remembered by the service running it (or by the broker, for calls to
 * other nodes), and a stopping service or broker waits for its own to finish, up to the shutdown
 * timeout. Moleculer's keeps them in arrays and removes each with indexOf and splice, a cost that
 * grows with the number in flight; a Set adds and removes in constant time.
 */
import { Errors, type Context, type Middleware, type Service, type ServiceBroker } from "moleculer";

type Holder = { _trackedContexts?: Set<Context> };

/** The set a running request is remembered in: its local service's, or the broker's. */
export function trackedContexts(holder: Service | ServiceBroker): Set<Context> {
	const target = holder as unknown as Holder;
	return (target._trackedContexts ??= new Set());
}

function holderOf(ctx: Context): Service | ServiceBroker {
	return ctx.service ?? ctx.broker;
}

function waitForContexts(list: Set<Context>, logger: { warn(...args: unknown[]): void; error(...args: unknown[]): void }, timeoutMs: number, service?: Service): Promise<void> {
	if (list.size === 0) return Promise.resolve();
	return new Promise(resolve => {
		let timedOut = false;
		const timer = setTimeout(() => {
			timedOut = true;
			logger.error(new Errors.GracefulStopTimeoutError({ service } as ConstructorParameters<typeof Errors.GracefulStopTimeoutError>[0]));
			list.clear();
			resolve();
		}, timeoutMs);
		let first = true;
		const check = () => {
			if (list.size === 0) {
				clearTimeout(timer);
				resolve();
				return;
			}
			if (first) {
				logger.warn(`Waiting for ${list.size} running context(s)...`);
				first = false;
			}
			if (!timedOut) setTimeout(check, 100);
		};
		setImmediate(check);
	});
}

export function ContextTrackerMiddleware(broker: ServiceBroker): Middleware {
	const tracking = broker.options.tracking ?? {};
	function wrap(handler: (ctx: Context) => Promise<unknown>) {
		if (!tracking.enabled) return handler;
		return function trackedHandler(ctx: Context): Promise<unknown> {
			if (ctx.options.tracking === false) return handler(ctx);
			const list = trackedContexts(holderOf(ctx));
			list.add(ctx);
			let running: Promise<unknown>;
			try {
				running = handler(ctx);
			} catch (err) {
				list.delete(ctx);
				throw err;
			}
			return running.finally(() => list.delete(ctx));
		};
	}
	return {
		name: "ContextTracker",
		localAction: wrap,
		remoteAction: wrap,
		localEvent: wrap,
		created() {
			trackedContexts(broker);
		},
		serviceStarting(service: Service) {
			trackedContexts(service);
		},
		serviceStopping(service: Service) {
			const timeout = (service.settings as { $shutdownTimeout?: number }).$shutdownTimeout || tracking.shutdownTimeout || 5000;
			return waitForContexts(trackedContexts(service), service.logger, timeout, service);
		},
		stopping() {
			return waitForContexts(trackedContexts(broker), broker.logger, tracking.shutdownTimeout || 5000);
		},
	} as unknown as Middleware;
}
