/**
 * The REPL acts for the operator using it: it signs a short-lived operator token with the key file
 * (the same one the auth service signs with), so guarded actions accept its calls and the audit log
 * names the person. Without the key file there is no operator access, locally or over the cluster.
 */
import os from "node:os";
import type { AppConfig } from "../config/env";
import { loadSigningKeys } from "../auth/key-store";
import { signMachineToken } from "../auth/tokens";
import { OPERATOR_SUBJECT_PREFIX } from "../auth/access";

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
