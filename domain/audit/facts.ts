/**
 * How services hand facts to the audit log: written to their outbox in the transaction of the
 * change the fact is about, so the fact and the change commit together and the relay delivers it.
 * The fact id is the message id, which the audit log records once.
 */
import { AUDIT_CHANNEL, type AuditActor, type AuditFact } from "../../contracts/audit";
import { messageId } from "../../platform/outbox/message-id";
import type { MessageWriter } from "../../platform/outbox/outbox";

export type NewAuditFact = Omit<AuditFact, "id" | "at"> & { at?: string };

/**
 * `idempotencyKey`: for a fact that may be written more than once for one event (the same key
 * always gives the same fact id).
 */
export function completeFact(fact: NewAuditFact, idempotencyKey?: string): AuditFact {
	return { id: messageId(idempotencyKey), at: fact.at ?? new Date().toISOString(), ...fact };
}

/** Who made a change and in which request: what every audit fact about it carries. */
export interface ChangeOrigin {
	actor: AuditActor;
	requestId?: string;
}

/** A fact about a change, on the record against its origin (actor and request id). */
export function writeAuditFactFrom(messages: MessageWriter, origin: ChangeOrigin, fact: Omit<NewAuditFact, "actor" | "requestId">): Promise<AuditFact> {
	return writeAuditFact(messages, { ...fact, actor: origin.actor, ...(origin.requestId ? { requestId: origin.requestId } : {}) });
}

export async function writeAuditFact(messages: MessageWriter, fact: NewAuditFact, idempotencyKey?: string): Promise<AuditFact> {
	const complete = completeFact(fact, idempotencyKey);
	await messages.add(AUDIT_CHANNEL, complete, { id: complete.id });
	return complete;
}
