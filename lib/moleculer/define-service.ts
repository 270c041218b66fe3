/**
 * Moleculer's typings leave out the action properties moleculer-web and our OpenAPI generator read
 * (`rest`, `openapi`) and type settings loosely; service files declare their schema through this
 * helper so those stay typed without casts in every file.
 */
import type { ActionHandler, ActionSchema, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { ActionOpenApiMeta } from "../http/openapi";

export interface RestActionSchema extends ActionSchema {
	/** moleculer-web route(s) relative to the service's `settings.rest`, e.g. "POST /register". */
	rest?: string | string[];
	/** Documentation for the generated OpenAPI document. */
	openapi?: ActionOpenApiMeta;
	timeout?: number;
}

export interface LootopiaSettings extends ServiceSettingSchema {
	/** Base path of the service's REST routes under the gateway's /api. */
	rest?: string | string[];
}

export type LootopiaServiceSchema<S extends LootopiaSettings> = Omit<ServiceSchema<S>, "actions"> & {
	actions?: Record<string, RestActionSchema | ActionHandler | false>;
};

/** The registry and broker take plain schemas; the settings type only matters while writing one. */
export function defineService<S extends LootopiaSettings = LootopiaSettings>(schema: LootopiaServiceSchema<S>): ServiceSchema {
	return schema as unknown as ServiceSchema;
}
