/**
 * Calls and broker events by the names the contracts declare (contracts/index.ts), with their
 * params and payloads checked by the compiler: a misspelt action or a payload of the wrong shape is
 * a build error, not a runtime surprise in another service.
 */
import type { CallingOptions, Context, ServiceBroker } from "moleculer";
import type { ActionName, ActionParams, ActionResult, EventName, EventPayload } from "../../contracts";

/** ctx.call: within the caller's request, with its meta (the caller's own token) going along. */
export function call<N extends ActionName>(ctx: Context, action: N, params: ActionParams<N>, options?: CallingOptions): Promise<ActionResult<N>> {
	return ctx.call<ActionResult<N>, ActionParams<N>>(action, params, options);
}

/**
 * A broker event (fire-and-forget, to the services online now; durable messages go through the
 * outbox). Emitted within `ctx` when there is one, so tracing and the request id follow.
 */
export function emit<E extends EventName>(source: Context | ServiceBroker, event: E, payload: EventPayload<E>): Promise<void> {
	// Context.emit and broker.emit differ only in their typings' overloads.
	return Promise.resolve((source as ServiceBroker).emit(event, payload)).then(() => undefined);
}

/** A broker event to every node's subscribers (each node's copy of something must change), not one per service. */
export function broadcast<E extends EventName>(broker: ServiceBroker, event: E, payload: EventPayload<E>): Promise<void> {
	return Promise.resolve(broker.broadcast(event, payload)).then(() => undefined);
}
