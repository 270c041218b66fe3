/**
 * How a service implements its domain's contract. `defineService(contract, schema)` takes the
 * wiring (REST route, access, OpenAPI wording, handler) per declared action and fills in the rest
 * from the contract: the validator rules from the params schema, the documented response from the
 * result schema. Handlers are typed by the contract: `ctx.params` is the validated params (defaults
 * applied), the return value must be the declared result, an action the contract does not declare
 * does not compile, and channel handlers receive the declared payload.
 *
 * Moleculer's own ServiceSchema generics type `this` (a plain Service: a service keeps its state in
 * its factory's closure), and the module augmentation below adds the properties our middlewares
 * read, so no schema needs a cast.
 */
import type { ActionSchema, Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { ActionContract, DomainContract, HandlerParamsOf, ResultOf } from "../../contracts/kit";
import type { Access } from "../../contracts/identity";
import type { ChannelName, ChannelPayload } from "../../contracts";
import type { ChannelDefinition } from "../channels";
import type { ActionOpenApiMeta } from "../http/openapi";
import { validatorRulesOf } from "./validator-rules";
import type { PartnerOf } from "./authorization";

declare module "moleculer" {
	interface ActionSchema {
		/** Who may call it; enforced on every call by the Authorization middleware. */
		access?: Access;
		/** Documentation for the generated OpenAPI document. */
		openapi?: ActionOpenApiMeta;
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
		timeout?: number;
		/** Partner-scoped access: the partner owning what the call is about, when no param names it. */
		partnerOf?: PartnerOf;
	}
	interface ServiceSchema {
		/** Durable channel subscriptions (@moleculer/channels). */
		channels?: Record<string, ChannelDefinition>;
	}
}

export interface LootopiaSettings extends ServiceSettingSchema {
	/** Base path of the service's REST routes under the gateway's /api. */
	rest?: string | string[];
}

export type LootopiaService = Service<LootopiaSettings>;

export interface ContractAction<A extends ActionContract> extends Omit<ActionSchema<LootopiaService>, "handler" | "params" | "name" | "access"> {
	/** Who may call it; without one the action is local-only (the Authorization middleware refuses remote calls). */
	access?: Access;
	handler(this: LootopiaService, ctx: Context<HandlerParamsOf<A>>): ResultOf<A> | Promise<ResultOf<A>>;
}

export interface ChannelSubscription<Payload> extends Omit<ChannelDefinition<Payload>, "handler" | "group"> {
	/** Consumer group: each group gets every message once. */
	group: string;
	handler(this: LootopiaService, ctx: Context<Payload>): unknown;
}

export type ContractServiceSchema<C extends DomainContract> = Omit<ServiceSchema<LootopiaSettings, Record<string, never>, Record<string, never>, LootopiaService>, "name" | "actions" | "channels"> & {
	actions: { [K in keyof C["actions"]]: ContractAction<C["actions"][K]> };
	channels?: { [N in ChannelName]?: ChannelSubscription<ChannelPayload<N>> };
};

/** The service implementing `contract`, as the broker takes it. */
export function defineService<C extends DomainContract>(contract: C, schema: ContractServiceSchema<C>): ServiceSchema {
	const actions: Record<string, ActionSchema> = {};
	for (const [name, action] of Object.entries(schema.actions as Record<string, ContractAction<ActionContract>>)) {
		const declared = contract.actions[name];
		if (!declared) throw new Error(`Service "${contract.service}": action "${name}" is not in its contract`);
		const openapi = action.openapi || action.rest ? { ...action.openapi, ...(declared.result && !action.openapi?.response ? { response: declared.result } : {}) } : undefined;
		actions[name] = {
			...(action as unknown as ActionSchema),
			params: (declared.params ? validatorRulesOf(declared.params) : { $$strict: "remove" }) as ActionSchema["params"],
			...(openapi ? { openapi } : {}),
		};
	}
	const missing = Object.keys(contract.actions).filter(name => !(name in actions));
	if (missing.length) throw new Error(`Service "${contract.service}": its contract declares ${missing.join(", ")}, which it does not implement`);
	return { ...(schema as unknown as ServiceSchema), name: contract.service, actions } as ServiceSchema;
}
