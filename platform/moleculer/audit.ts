/**
 * Who did it and from where, as audit facts record it, taken from a call's context.
 */
import type { Context } from "moleculer";
import type { AuditActor } from "../../contracts/audit";
import type { Caller } from "../../contracts/identity";
import { callerOf, type CallMeta } from "./authorization";

import type { ChangeOrigin } from "../../domain/audit/facts";

export type { NewAuditFact } from "../../domain/audit/facts";

export function actorOf(caller: Caller, clientIp?: string): AuditActor {
	const ip = clientIp ? { ip: clientIp } : {};
	switch (caller.kind) {
		case "user":
			return { type: "user", id: caller.userId, ...ip };
		case "service":
			return { type: "service", id: caller.service };
		case "operator":
			return { type: "operator", id: caller.operator };
		case "anonymous":
			return { type: "anonymous", ...ip };
	}
}

/** The request id and client address the gateway put on the call, for facts recorded during it. */
/** The caller (as the Authorization middleware established it) and request a change made in `ctx` is recorded against. */
export function changeOriginOf(ctx: Context): ChangeOrigin {
	const { clientIp, requestId } = requestContext(ctx);
	return { actor: actorOf(callerOf(ctx), clientIp), ...(requestId ? { requestId } : {}) };
}

export function requestContext(ctx: Context): { requestId?: string; clientIp?: string } {
	return { requestId: ctx.requestID ?? undefined, clientIp: (ctx.meta as CallMeta).clientIp };
}
