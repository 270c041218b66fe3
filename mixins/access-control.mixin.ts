/**
 * For services whose actions act for someone: every action must say who may call it (`access`), or
 * the service refuses to start. The Authorization middleware (platform/moleculer/authorization.ts) then
 * enforces it on every call, local or remote; handlers read the caller with `callerOf(ctx)`.
 */
import type { ServiceSchema } from "moleculer";

const ACCESS_VALUES = new Set<unknown>(["public", "user", "admin", "service"]);
const PARTNER_LEVELS = new Set<unknown>(["member", "editor", "owner"]);

/** One of the four kinds, or the partner-scoped form with a known level. */
export function isValidAccess(access: unknown): boolean {
	if (typeof access === "object" && access !== null) {
		const { partner, param } = access as { partner?: unknown; param?: unknown };
		return PARTNER_LEVELS.has(partner) && (param === undefined || typeof param === "string");
	}
	return ACCESS_VALUES.has(access);
}

export function AccessControlMixin(): Partial<ServiceSchema> {
	// `merged` runs once mixins are merged, so actions a mixin adds are checked too (missing from the typings).
	return {
		merged(this: unknown, schema: ServiceSchema) {
			const undeclared = Object.entries(schema.actions ?? {})
				.filter(([, action]) => action !== false && !(typeof action === "object" && isValidAccess((action as { access?: unknown }).access)))
				.map(([name]) => name);
			if (undeclared.length) throw new Error(`Service "${schema.name}": actions without a valid access declaration: ${undeclared.join(", ")}`);
		},
	} as Partial<ServiceSchema>;
}
