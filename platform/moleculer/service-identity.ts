/**
 * Every service's own identity for calls to other services' `access: "service"` actions: a
 * short-lived machine token (`service:<name>`) signed with the node's ring, reused while fresh. A
 * node without the private ring (the api group in production) has no service identity.
 */
import type { CallingOptions, Context, ServiceBroker } from "moleculer";
import { SERVICE_SUBJECT_PREFIX } from "../identity/access";
import { signMachineToken } from "../identity/tokens";
import { nodeBackends } from "../runtime/node-backends";
import type { ActionName, ActionParams, ActionResult } from "../../contracts";

const TOKEN_TTL_SECONDS = 120;
/** Renewed well before it expires, so a slow call never carries a token about to lapse. */
const RENEW_AFTER_MS = 60_000;

const tokens = new WeakMap<ServiceBroker, Map<string, { token: Promise<string>; renewAtMs: number }>>();

export function serviceToken(broker: ServiceBroker, service: string): Promise<string> {
	let byService = tokens.get(broker);
	if (!byService) tokens.set(broker, (byService = new Map()));
	const cached = byService.get(service);
	if (cached && cached.renewAtMs > Date.now()) return cached.token;
	const { config } = nodeBackends(broker);
	const { issuer, audience, accessTtlSeconds } = config.auth;
	const token = nodeBackends(broker)
		.signingRing()
		.then(ring => signMachineToken(ring, `${SERVICE_SUBJECT_PREFIX}${service}`, "service", { issuer, audience, accessTtlSeconds }, TOKEN_TTL_SECONDS));
	byService.set(service, { token, renewAtMs: Date.now() + RENEW_AFTER_MS });
	token.catch(() => byService.delete(service));
	return token;
}

/**
 * Calls `action` as `service`, inside `parentCtx`'s request (tracing, request id). broker.call with
 * parentCtx, not ctx.call: ctx.call copies the callee's meta back into the caller's, which would
 * leave the service token in the user's request.
 */
export async function callAsService<N extends ActionName>(broker: ServiceBroker, service: string, action: N, params: ActionParams<N>, parentCtx?: Context): Promise<ActionResult<N>> {
	const options: CallingOptions = { meta: { accessToken: await serviceToken(broker, service) }, ...(parentCtx ? { parentCtx } : {}) };
	return broker.call<ActionResult<N>, ActionParams<N>>(action, params, options);
}
