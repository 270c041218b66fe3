/**
 * How services hand facts to the audit log: a durable channel send, resolved once the backend has
 * the message, so a fact the caller was told about is never lost to a crash in between.
 */
import { createHash, randomUUID } from "node:crypto";
import type { Context, ServiceBroker } from "moleculer";
import { AUDIT_CHANNEL, type AuditActor, type AuditFact } from "../contracts/audit";
import type { Caller } from "../contracts/identity";
import { sendToChannel } from "../channels";
import type { CallMeta } from "./authorization";

export type NewAuditFact = Omit<AuditFact, "id" | "at"> & { at?: string };

/**
 * `sender`: the recording service, signed into the message (lib/contracts/channel-publishers.ts
 * says which may). `idempotencyKey`: for facts recorded by message consumers, which may see a
 * message twice; the same key always gives the same fact id, which the audit log records once.
 */
export function recordAudit(broker: ServiceBroker, fact: NewAuditFact, opts: { sender: string; idempotencyKey?: string }): Promise<void> {
	const id = opts.idempotencyKey ? uuidFromKey(opts.idempotencyKey) : randomUUID();
	const complete: AuditFact = { id, at: fact.at ?? new Date().toISOString(), ...fact };
	return sendToChannel(broker, AUDIT_CHANNEL, complete, { sender: opts.sender });
}

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
export function requestContext(ctx: Context): { requestId?: string; clientIp?: string } {
	return { requestId: ctx.requestID ?? undefined, clientIp: (ctx.meta as CallMeta).clientIp };
}

/** A UUID-shaped id derived from a key (version nibble 5, as name-based UUIDs have). */
function uuidFromKey(key: string): string {
	const hex = createHash("sha256").update(key).digest("hex");
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
