/**
 * The REPL acts for the operator using it: it signs a short-lived operator token with the key file
 * (the same one the auth service signs with), so guarded actions accept its calls and the audit log
 * names the person. Without the key file there is no operator access, locally or over the cluster.
 */
import os from "node:os";
import type { Middleware } from "moleculer";
import type { AppConfig } from "../config/env";
import { loadSigningKeys } from "../identity/key-store";
import { signMachineToken } from "../identity/tokens";
import { OPERATOR_SUBJECT_PREFIX } from "../identity/access";

export function operatorName(): string {
	try {
		return os.userInfo().username || "unknown";
	} catch {
		return "unknown";
	}
}

export async function mintOperatorToken(config: AppConfig, name = operatorName()): Promise<string> {
	const ring = await loadSigningKeys(config.auth, config.dataDir);
	const { issuer, audience, accessTtlSeconds } = config.auth;
	return signMachineToken(ring, `${OPERATOR_SUBJECT_PREFIX}${name}`, "operator", { issuer, audience, accessTtlSeconds }, 15 * 60);
}

type Call = (actionName: string, params?: unknown, opts?: { meta?: Record<string, unknown> } & Record<string, unknown>) => Promise<unknown>;

/**
 * On the REPL's node: moleculer-repl's own `call` (which marks its meta `$repl`) carries the
 * operator's token like our commands do, so `call partners.verify …` is checked and audited as the
 * operator rather than refused as anonymous. A call that brings its own token keeps it.
 */
export function OperatorCallsMiddleware(config: AppConfig): Middleware {
	let cached: { token: Promise<string>; until: number } | undefined;
	const token = () => {
		if (!cached || Date.now() > cached.until) cached = { token: mintOperatorToken(config), until: Date.now() + 10 * 60_000 };
		return cached.token;
	};
	return {
		name: "OperatorCalls",
		call(next: Call): Call {
			return async (actionName, params, opts = {}) => {
				if (!opts.meta?.$repl || opts.meta.accessToken) return next(actionName, params, opts);
				return next(actionName, params, { ...opts, meta: { ...opts.meta, accessToken: await token() } });
			};
		},
	} as unknown as Middleware;
}
