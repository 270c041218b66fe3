/**
 * The authorization boundary: a broker middleware that, for every local action declaring `access`,
 * establishes the caller from `ctx.meta.accessToken` and refuses the call before validation, the
 * cache or the handler see it. It runs on the node that executes the action, so a call arriving over
 * the transporter is checked exactly like one from the gateway, and meta a caller wrote by hand
 * (`meta.user`, `meta.caller`) is never believed.
 */
import { SessionRevocations } from "../identity/session-revocation";
import { Errors, type Context, type Middleware, type ServiceBroker } from "moleculer";
import type { Access, Caller } from "../../contracts/identity";
import type { PublicKeySet } from "../../contracts/auth";
import { AccessTokenVerifier, ANONYMOUS, decideAccess } from "../identity/access";
import { pinnedPublicKeys } from "../identity/key-store";
import { InvalidTokenError } from "../identity/tokens";
import { AppError, isAppError } from "../errors/app-error";
import { nodeBackends } from "../runtime/node-backends";
import { callAsService } from "./service-identity";

/** Store key marking a session as logged out for as long as its access tokens could live. */

export interface CallMeta {
	/** The bearer token the request came with (set by the gateway, or by a service for its own calls). */
	accessToken?: string;
	/** Client address as the gateway established it (TRUST_PROXY aware). */
	clientIp?: string;
}

const verifiers = new WeakMap<ServiceBroker, AccessTokenVerifier>();
const localKeySources = new WeakMap<ServiceBroker, () => PublicKeySet>();

/**
 * The auth service hands its public keys to its own node: calls it makes while starting (creating
 * the configured admin) are checked before it is registered, so asking it over the broker would wait
 * for itself.
 */
export function provideLocalPublicKeys(broker: ServiceBroker, keys: () => PublicKeySet): void {
	localKeySources.set(broker, keys);
}

/** Where this node gets the public keys that verify tokens and channel messages. */
async function fetchPublicKeys(broker: ServiceBroker): Promise<PublicKeySet> {
	const local = localKeySources.get(broker);
	if (local) return local();
	// Read again on every fetch, so a rotated file is picked up without a restart.
	const pinned = await pinnedPublicKeys(nodeBackends(broker).config.auth);
	if (pinned) return pinned;
	// Development only (production requires a key file): believe the cluster's `auth`.
	await broker.waitForServices(["auth"], 10_000);
	return broker.call<PublicKeySet, Record<string, never>>("auth.publicKeys", {}, { meta: {} });
}

const messageKeys = new WeakMap<ServiceBroker, { keys?: Promise<PublicKeySet>; fetchedAt: number }>();

/**
 * The public keys for channel message signatures, cached for five minutes; `refresh` (asked when a
 * signature names an unknown key) refetches at most once a second.
 */
export function publicKeysFor(broker: ServiceBroker): (refresh: boolean) => Promise<PublicKeySet["keys"]> {
	return async refresh => {
		let entry = messageKeys.get(broker);
		const age = entry ? Date.now() - entry.fetchedAt : Infinity;
		if (!entry?.keys || age > 300_000 || (refresh && age > 1_000)) {
			entry = { keys: fetchPublicKeys(broker), fetchedAt: Date.now() };
			messageKeys.set(broker, entry);
			entry.keys!.catch(() => messageKeys.delete(broker));
		}
		return (await entry.keys!).keys;
	};
}

/** The node's view of ended sessions, in its shared store. */
export function sessionRevocations(broker: ServiceBroker): SessionRevocations {
	const backends = nodeBackends(broker);
	return new SessionRevocations(backends.keyValueStore(), backends.config.auth.accessTtlSeconds);
}

/** One verifier per node: it caches the auth service's public keys and recently verified tokens. */
export function accessVerifier(broker: ServiceBroker): AccessTokenVerifier {
	let verifier = verifiers.get(broker);
	if (!verifier) {
		const backends = nodeBackends(broker);
		const { issuer, audience, accessTtlSeconds } = backends.config.auth;
		verifier = new AccessTokenVerifier({
			settings: { issuer, audience, accessTtlSeconds },
			fetchKeys: () => fetchPublicKeys(broker),
			isSessionRevoked: sessionId => sessionRevocations(broker).isRevoked(sessionId),
		});
		verifiers.set(broker, verifier);
	}
	return verifier;
}

/** The token problem as the client should see it: expired ones are worth a refresh, others are not. */
export function tokenError(err: InvalidTokenError): AppError {
	return err.reason === "expired" ? new AppError("TOKEN_EXPIRED") : new AppError("INVALID_TOKEN", undefined, { reason: err.reason });
}

/** The caller a token stands for on this node, with token problems as the client should see them. */
export async function verifiedCaller(broker: ServiceBroker, token: string | undefined, options?: { checkRevocation?: boolean }): Promise<Caller> {
	try {
		return await accessVerifier(broker).callerOf(token, options);
	} catch (err) {
		if (err instanceof InvalidTokenError) throw tokenError(err);
		throw err;
	}
}

/**
 * For partner-scoped access: which partner owns what the call is about, from the param the access
 * names or the action's own `partnerOf` (a hunt's partner, say). Unvalidated params yet: anything
 * but a string names no partner.
 */
export type PartnerOf = (params: Record<string, unknown>, ctx: Context) => Promise<string | undefined> | string | undefined;

async function partnerContext(broker: ServiceBroker, caller: Caller, access: Access, ctx: Context | undefined, partnerOf: PartnerOf | undefined) {
	if (typeof access !== "object" || caller.kind !== "user" || caller.roles.includes("admin") || !ctx) return undefined;
	const params = (ctx.params ?? {}) as Record<string, unknown>;
	const named = partnerOf ? await partnerOf(params, ctx) : params[access.param ?? "id"];
	const id = typeof named === "string" ? named : undefined;
	if (id === undefined) return { id, memberships: {} };
	// The member list now, not the token's copy: someone removed from a partner loses access at once.
	const service = (ctx.service as { name?: string } | undefined)?.name ?? "authorization";
	const memberships = await callAsService(broker, service, "partners.membershipsOf", { userId: caller.userId }, ctx);
	return { id, memberships };
}

export async function authorizeCall(broker: ServiceBroker, access: Access, meta: CallMeta, ctx?: Context, partnerOf?: PartnerOf): Promise<Caller> {
	const caller = await verifiedCaller(broker, meta.accessToken).catch(err => {
		// A public operation (login, refresh, register) must work for a client whose stored token
		// expired or broke: it is served as anonymous instead of refused.
		if (access === "public" && (isAppError(err, "INVALID_TOKEN") || isAppError(err, "TOKEN_EXPIRED"))) return ANONYMOUS;
		throw err;
	});
	const decision = decideAccess(caller, access, await partnerContext(broker, caller, access, ctx, partnerOf));
	if (decision === "unauthenticated") throw new AppError("UNAUTHENTICATED");
	if (decision === "forbidden") throw new AppError("FORBIDDEN");
	return caller;
}

type GuardedAction = { name: string; access?: Access; partnerOf?: PartnerOf };
type Handler = (ctx: Context) => Promise<unknown>;

/** What the guard reads of an incoming request packet (moleculer's Transit, untyped here). */
interface RequestPacket {
	payload?: { action?: string; event?: string; id?: string; sender?: string; meta?: Record<string, unknown> };
}

interface TransitInternals {
	sendResponse(nodeID: string, id: string, meta: unknown, headers: unknown, data: unknown, err: Error): Promise<unknown>;
}

/** The local action a request names, as registered on this node (undefined when it has none). */
function localActionOf(broker: ServiceBroker, name: string | undefined): GuardedAction | undefined {
	if (!name) return undefined;
	const endpoints = broker.registry.getActionEndpoints(name) as unknown as { localEndpoints?: Array<{ action: GuardedAction }> } | undefined;
	return endpoints?.localEndpoints?.[0]?.action;
}

export function AuthorizationMiddleware(): Middleware {
	let broker: ServiceBroker;
	return {
		name: "Authorization",
		created(created: ServiceBroker) {
			broker = created;
		},
		/**
		 * Requests arriving over the transporter may only reach actions registered here that declare
		 * `access` (and are then checked like any call); every other request packet, stream chunks
		 * included, is answered here: LOCAL_ONLY for an action without `access` (Moleculer's and
		 * moleculer-web's built-ins, internal helpers), not found for one this node does not have (yet).
		 * Decided from the packet, before any context exists: a packet's sender is whatever the sending
		 * node writes, so nothing in a context could tell a forged "local" call apart. Broker-internal
		 * events (`$broker.started`, `$services.changed`, …) are only ever local: remote ones are dropped.
		 */
		transitMessageHandler(next: (cmd: string, packet: RequestPacket) => Promise<unknown>) {
			return (cmd: string, packet: RequestPacket) => {
				const payload = packet.payload;
				if (cmd === "EVENT" && typeof payload?.event === "string" && payload.event.startsWith("$")) {
					broker.getLogger("AUTHORIZATION").warn(`Dropped the internal event '${payload.event}' sent by node '${payload.sender}'`);
					return Promise.resolve(true);
				}
				if (cmd !== "REQ") return next(cmd, packet);
				const action = localActionOf(broker, payload?.action);
				if (action?.access) return next(cmd, packet);
				const transit = (broker as unknown as { transit: TransitInternals }).transit;
				const refusal = action ? new AppError("LOCAL_ONLY", undefined, { action: payload?.action }) : new Errors.ServiceNotFoundError({ action: String(payload?.action), nodeID: broker.nodeID });
				if (action) broker.getLogger("AUTHORIZATION").warn(`Refused '${payload?.action}' requested by node '${payload?.sender}': it is local-only`);
				return transit.sendResponse(String(payload?.sender), String(payload?.id), payload?.meta ?? {}, null, null, refusal).then(() => true);
			};
		},
		localAction(next: Handler, action: GuardedAction) {
			const access = action.access;
			if (!access) return next;
			return async function authorized(this: unknown, ctx: Context) {
				(ctx.locals as { caller?: Caller }).caller = await authorizeCall(ctx.broker, access, ctx.meta as CallMeta, ctx, action.partnerOf);
				return next.call(this, ctx);
			};
		},
	} as unknown as Middleware;
}

/** The caller the middleware established; only valid inside an action that declares `access`. */
export function callerOf(ctx: Context): Caller {
	const caller = (ctx.locals as { caller?: Caller }).caller;
	if (!caller) throw new Error(`${ctx.action?.name ?? "this action"} declares no access, so it has no caller`);
	return caller;
}

/** The signed-in user, or 401 (for actions open to users and services alike). */
export function userOf(ctx: Context): Extract<Caller, { kind: "user" }> {
	const caller = callerOf(ctx);
	if (caller.kind !== "user") throw new AppError(caller.kind === "anonymous" ? "UNAUTHENTICATED" : "FORBIDDEN");
	return caller;
}
