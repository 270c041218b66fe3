/**
 * Every action's parameters pass inspectInput (platform/http/input-guard.ts) before validation, the
 * cache or the handler: NUL bytes and broken Unicode are a 422 naming the field, structures nested
 * too deep a 400, whether they came through the gateway or over the transporter. Without it, such
 * input reached PostgreSQL or overflowed the stack and answered 500, which also counted against the
 * circuit breaker every other user's calls share.
 */
import type { Context, Middleware } from "moleculer";
import { AppError } from "../errors/app-error";
import { inspectInput, type InputProblem } from "../http/input-guard";

export function inputError(problem: InputProblem): AppError {
	// The field path is made of the client's own keys: it goes in the details, not the message.
	if (problem.kind === "too_deep") return new AppError("INPUT_TOO_DEEP", `Nested deeper than ${problem.maxDepth} levels`, { field: problem.field, maxDepth: problem.maxDepth });
	return new AppError("VALIDATION_FAILED", undefined, [{ field: problem.field, message: `The '${problem.field}' field ${problem.reason}`, rule: "text" }]);
}

type Handler = (ctx: Context) => Promise<unknown>;

/** `skip`: actions whose params are not client input (the gateway's forwarding action gets req/res). */
export function InputGuardMiddleware(skip: readonly string[]): Middleware {
	return {
		name: "InputGuard",
		localAction(next: Handler, action: { name: string }) {
			if (skip.includes(action.name)) return next;
			return function guarded(this: unknown, ctx: Context) {
				const problem = inspectInput(ctx.params);
				if (problem) return Promise.reject(inputError(problem));
				return next.call(this, ctx);
			};
		},
	} as unknown as Middleware;
}
