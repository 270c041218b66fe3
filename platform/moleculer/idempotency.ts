/**
 * Idempotency-Key on the actions that declare `idempotencyKey: true`: the gateway checks the
 * header's shape and puts it in meta; the action runs its work through runIdempotent, in the
 * transaction of its change, so the stored response commits with the change.
 */
import type { Context } from "moleculer";
import { AppError } from "../errors/app-error";
import type { IdempotencyKeys, StoredResponse } from "../outbox/idempotency";
import type { SqlExecutor } from "../sql";
import { callerOf } from "./authorization";

export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";
// Visible ASCII: what every HTTP stack carries unchanged; a UUID is the usual choice.
const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/;

/** The header's value, checked; undefined when the request has none. */
export function acceptIdempotencyKey(value: string | string[] | undefined): string | undefined {
	if (value === undefined) return undefined;
	if (typeof value !== "string" || !KEY_SHAPE.test(value)) throw new AppError("INVALID_IDEMPOTENCY_KEY");
	return value;
}

export interface IdempotencyMeta {
	/** The key a client sent, and the action the gateway routed that request to. */
	idempotencyKey?: { key: string; action: string };
}

/**
 * `work`'s response, or, for a key this caller already used on this action with the same
 * parameters, the response the first request got. Keys are per action and user: two users can
 * never see each other's results.
 */
export async function runIdempotent<Body>(keys: IdempotencyKeys, tx: SqlExecutor, ctx: Context, work: () => Promise<StoredResponse<Body>>): Promise<StoredResponse<Body>> {
	const sent = (ctx.meta as IdempotencyMeta).idempotencyKey;
	const caller = callerOf(ctx);
	// Only for the request the client sent it with (meta travels on to nested calls), and only for a
	// signed-in user: a service acting for many users, or anonymous callers, would share one scope,
	// where one's key could replay another's response.
	if (!sent || sent.action !== ctx.action?.name || caller.kind !== "user") return work();
	const key = acceptIdempotencyKey(sent.key);
	if (key === undefined) return work();
	const { replayed: _replayed, ...response } = await keys.run(tx, `${sent.action}:${caller.userId}`, key, ctx.params, work);
	return response;
}
