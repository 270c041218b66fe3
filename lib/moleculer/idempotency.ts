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
	idempotencyKey?: string;
}

/**
 * `work`'s response, or, for a key this caller already used on this action with the same
 * parameters, the response the first request got. Keys are per action and caller: two users can
 * never see each other's results (and anonymous calls, which have no caller to tell apart, run as
 * if no key were given).
 */
export async function runIdempotent<Body>(keys: IdempotencyKeys, tx: SqlExecutor, ctx: Context, work: () => Promise<StoredResponse<Body>>): Promise<StoredResponse<Body>> {
	const key = acceptIdempotencyKey((ctx.meta as IdempotencyMeta).idempotencyKey);
	if (key === undefined) return work();
	const caller = callerOf(ctx);
	// Anonymous callers cannot be told apart: one's key must never replay another's response.
	if (caller.kind === "anonymous") return work();
	const who = caller.kind === "user" ? caller.userId : caller.kind === "service" ? `service:${caller.service}` : `operator:${caller.operator}`;
	const { replayed: _replayed, ...response } = await keys.run(tx, `${ctx.action?.name ?? "?"}:${who}`, key, ctx.params, work);
	return response;
}
