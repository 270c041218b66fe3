/**
 * How a domain declares what it offers: its actions (params and result), the broker events it emits
 * and the durable channels it publishes. Each shape is a TypeBox schema, which is a JSON Schema
 * object and a TypeScript type at once: the validator rules, the TypeScript types of handlers and
 * callers, the OpenAPI document and the AsyncAPI catalogue are all derived from it, so a shape is
 * written once.
 *
 * TypeBox over zod or a hand-written DSL: its schemas are plain JSON Schema (2020-12, what OpenAPI
 * 3.1 and AsyncAPI 3 embed) with no conversion step, its static types need no code generation, and
 * it is maintained and widely used.
 */
import { Kind, OptionalKind, Type, type Static, type TObject, type TProperties, type TSchema } from "@sinclair/typebox";

export { Type as T, type Static, type TObject, type TSchema } from "@sinclair/typebox";

/**
 * What fastest-validator (Moleculer's validator) needs beyond JSON Schema: trimming, coercion of
 * query-string values, a custom check and its messages. Kept under a symbol so it never appears in
 * the published documents (JSON.stringify skips symbol keys; TypeBox's modifiers keep them).
 */
export const VALIDATOR_EXTRAS = Symbol.for("lootopia.validator-extras");

export interface ValidatorExtras {
	trim?: boolean;
	/** Query strings carry text: "20" becomes 20, "true" becomes true. */
	convert?: boolean;
	/** fastest-validator custom check: push `{ type, actual }` to `errors` to refuse the value. */
	custom?: (value: unknown, errors: Array<{ type: string; actual?: unknown; message?: string }>) => unknown;
	messages?: Record<string, string>;
	/** Email addresses are kept as typed. */
	normalize?: boolean;
}

/** Attaches validator-only options to a schema (see VALIDATOR_EXTRAS). */
export function withValidation<S extends TSchema>(schema: S, extras: ValidatorExtras): S {
	return Object.assign(schema, { [VALIDATOR_EXTRAS]: extras });
}

export function validatorExtrasOf(schema: TSchema): ValidatorExtras | undefined {
	return (schema as { [VALIDATOR_EXTRAS]?: ValidatorExtras })[VALIDATOR_EXTRAS];
}

/** A parameter the caller may leave out, which the handler always receives (the default fills it in). */
export type TDefaulted<S extends TSchema> = S & { [OptionalKind]: "Optional"; default: Static<S> };

export function Defaulted<S extends TSchema>(schema: S, value: Static<S>): TDefaulted<S> {
	return Type.Optional({ ...schema, default: value } as S) as TDefaulted<S>;
}

/** A JSON Schema written out by hand (a `oneOf` TypeBox would spell differently), typed as T. */
export function Described<T>(schema: Record<string, unknown>): TSchema & { static: T } {
	return Type.Unsafe<T>(schema) as TSchema & { static: T };
}

export interface ActionContract {
	params?: TObject;
	result?: TSchema;
}

export interface EventContract {
	payload: TObject;
	description: string;
}

export interface ChannelContract {
	payload: TSchema;
	description: string;
	/** The payload field used as the Kafka message key, keeping one subject's messages in order. */
	partitionKey?: string;
	/** Services that may publish on it (by default only the declaring service). */
	publishers?: readonly string[];
}

export interface DomainContract {
	/** The service that implements the actions and publishes the events and channels. */
	service: string;
	description: string;
	actions: Record<string, ActionContract>;
	events: Record<string, EventContract>;
	channels: Record<string, ChannelContract>;
}

export function defineContract<const C extends DomainContract>(contract: C): C {
	return contract;
}

/** The keys whose schema carries a default: optional to callers, always present in the handler. */
type DefaultedKeys<P extends TProperties> = { [K in keyof P]: P[K] extends { default: unknown } ? K : never }[keyof P];

/** What a handler receives once validation has applied defaults. */
export type HandlerParamsOf<A extends ActionContract> =
	A["params"] extends TObject<infer P> ? Static<A["params"]> & { [K in DefaultedKeys<P>]-?: Exclude<Static<P[K]>, undefined> } : Record<string, never>;

/** What a caller sends. */
export type CallParamsOf<A extends ActionContract> = A["params"] extends TObject ? Static<A["params"]> : Record<string, never>;

export type ResultOf<A extends ActionContract> = A["result"] extends TSchema ? Static<A["result"]> : void;

export type PayloadOf<E extends { payload: TSchema }> = Static<E["payload"]>;

/** True for a schema TypeBox marks optional (the property may be absent). */
export function isOptional(schema: TSchema): boolean {
	return (schema as { [OptionalKind]?: string })[OptionalKind] === "Optional";
}

export function kindOf(schema: TSchema): string {
	return (schema as { [Kind]?: string })[Kind] ?? "Unsafe";
}
