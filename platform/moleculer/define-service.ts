/**
 * Moleculer's typings leave out the action properties moleculer-web and our OpenAPI generator read
 * (`rest`, `openapi`) and type settings loosely; service files declare their schema through this
 * helper so those stay typed without casts in every file.
 */
import type { ActionHandler, ActionSchema, Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { ActionOpenApiMeta } from "../http/openapi";
import type { Access } from "../../contracts/identity";

export interface RestActionSchema extends Omit<ActionSchema, "handler"> {
	/**
	 * Handlers declare their own `this` (the service's methods and state); Moleculer's typing
	 * would only admit a bare Service.
	 */

	handler?(this: any, ctx: Context<any, any>): unknown;
	/** moleculer-web route(s) relative to the service's `settings.rest`, e.g. "POST /register". */
	rest?: string | string[];
	/** Documentation for the generated OpenAPI document. */
	openapi?: ActionOpenApiMeta;
	timeout?: number;
	/** Who may call it; enforced on every call by the Authorization middleware. */
	access?: Access;
	/**
	 * Parameters that must arrive in the JSON body, never in the URL, which browsers, proxies and
	 * access logs keep (passwords, refresh tokens). The gateway refuses them in the query string.
	 */
	secrets?: readonly string[];
	/**
	 * The action honours an Idempotency-Key header (create operations): the gateway passes the
	 * checked key in meta, and the handler runs its change through runIdempotent.
	 */
	idempotencyKey?: boolean;
}

export interface LootopiaSettings extends ServiceSettingSchema {
	/** Base path of the service's REST routes under the gateway's /api. */
	rest?: string | string[];
}

export type LootopiaServiceSchema<S extends LootopiaSettings> = Omit<ServiceSchema<S>, "actions" | "methods" | "created" | "started" | "stopped"> & {
	actions?: Record<string, RestActionSchema | ActionHandler | false>;
	methods?: Record<string, (this: any, ...args: any[]) => unknown>;
	created?(this: any): void;
	started?(this: any): Promise<void> | void;
	stopped?(this: any): Promise<void> | void;
};

/** The registry and broker take plain schemas; the settings type only matters while writing one. */
export function defineService<S extends LootopiaSettings = LootopiaSettings>(schema: LootopiaServiceSchema<S>): ServiceSchema {
	return schema as unknown as ServiceSchema;
}
