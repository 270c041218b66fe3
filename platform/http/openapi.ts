/**
 * Builds the OpenAPI 3.1 document of the REST gateway from what the service registry knows:
 * each alias (method + path → action) and each action's fastest-validator `params` schema.
 *
 * Pure on purpose: no broker, no moleculer import. The gateway collects routes and actions and
 * calls `buildOpenApiDocument`; the same function runs in unit tests on hand-made input.
 */
import path from "node:path";

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export type JsonSchemaTypeName = "string" | "number" | "integer" | "boolean" | "object" | "array" | "null";

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1). The common keywords are typed; others pass through. */
export interface JsonSchema {
	$ref?: string;
	type?: JsonSchemaTypeName | JsonSchemaTypeName[];
	title?: string;
	description?: string;
	format?: string;
	default?: unknown;
	const?: unknown;
	enum?: unknown[];
	minimum?: number;
	maximum?: number;
	exclusiveMinimum?: number;
	exclusiveMaximum?: number;
	minLength?: number;
	maxLength?: number;
	pattern?: string;
	items?: JsonSchema | false;
	prefixItems?: JsonSchema[];
	minItems?: number;
	maxItems?: number;
	uniqueItems?: boolean;
	contains?: JsonSchema;
	properties?: Record<string, JsonSchema>;
	required?: string[];
	additionalProperties?: boolean | JsonSchema;
	propertyNames?: JsonSchema;
	minProperties?: number;
	maxProperties?: number;
	anyOf?: JsonSchema[];
	oneOf?: JsonSchema[];
	allOf?: JsonSchema[];
	not?: JsonSchema;
	[keyword: string]: unknown;
}

/** What an action may declare under `openapi` in its definition to refine its documentation. */
export interface ActionOpenApiMeta {
	summary?: string;
	description?: string;
	tags?: string[];
	/** Status of the success response; 200 when absent. */
	successStatus?: number;
	/** JSON Schema of the success body. */
	response?: JsonSchema;
	/** Extra documented statuses, e.g. `{ "409": { description: "No reward left" } }`. */
	responses?: Record<string, { description: string; schema?: JsonSchema }>;
	security?: "bearer" | "none";
	deprecated?: boolean;
}

export interface OpenApiActionInfo {
	name: string;
	/** fastest-validator schema: full rules, shorthand strings ("string|min:3|max:64"), `$$strict`. */
	params?: Record<string, unknown>;
	openapi?: ActionOpenApiMeta;
	/** The action's `access`; anything but "public" needs a bearer token unless `openapi.security` says otherwise. */
	access?: string;
	/** The action honours an Idempotency-Key header. */
	idempotencyKey?: boolean;
}

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface OpenApiRoute {
	method: HttpMethod;
	/** Full path: `/api/hunts/:id`, or with path-to-regexp 8 optional groups `/api/hunts{/:id}`. */
	path: string;
	action: string;
}

export interface BuildOpenApiInput {
	info: { title: string; version: string; description?: string; license?: { name: string; identifier?: string; url?: string } };
	/** One line per tag, shown as the group's heading in the docs. */
	tagDescriptions?: Record<string, string>;
	servers?: { url: string }[];
	routes: OpenApiRoute[];
	actions: Map<string, OpenApiActionInfo> | Record<string, OpenApiActionInfo>;
	/** Hand-written path items (health, the document itself…), merged over the generated ones. */
	extraPaths?: Record<string, unknown>;
}

export interface OpenApiParameter {
	name: string;
	in: "path" | "query" | "header";
	required: boolean;
	description?: string;
	schema: JsonSchema;
	style?: "form" | "deepObject";
	explode?: boolean;
}

export interface OpenApiMediaType {
	schema: JsonSchema;
}

export interface OpenApiRequestBody {
	required: boolean;
	content: Record<string, OpenApiMediaType>;
}

export interface OpenApiResponse {
	description: string;
	headers?: Record<string, { $ref: string }>;
	content?: Record<string, OpenApiMediaType>;
}

export type OpenApiResponseOrRef = OpenApiResponse | { $ref: string };

export interface OpenApiOperation {
	operationId: string;
	summary: string;
	description?: string;
	tags: string[];
	deprecated?: boolean;
	parameters?: OpenApiParameter[];
	requestBody?: OpenApiRequestBody;
	responses: Record<string, OpenApiResponseOrRef>;
	security?: Record<string, string[]>[];
	/** The moleculer action behind the route, so operators can go from the docs to the service. */
	"x-moleculer-action": string;
}

/** Hand-written path items may hold anything OpenAPI allows, hence the open index signature. */
export interface OpenApiPathItem {
	get?: OpenApiOperation;
	put?: OpenApiOperation;
	post?: OpenApiOperation;
	delete?: OpenApiOperation;
	patch?: OpenApiOperation;
	[field: string]: unknown;
}

// A type alias (not an interface) so the document is assignable to Record<string, unknown>,
// which is what JSON tooling such as the OpenAPI validator accepts.
export type OpenApiDocument = {
	openapi: "3.1.0";
	info: { title: string; version: string; description?: string };
	servers?: { url: string }[];
	tags: { name: string }[];
	paths: Record<string, OpenApiPathItem>;
	components: {
		schemas: Record<string, JsonSchema>;
		responses: Record<string, OpenApiResponse>;
		headers: Record<string, { description: string; schema: JsonSchema }>;
		securitySchemes: Record<string, { type: "http"; scheme: "bearer"; bearerFormat: string; description: string }>;
	};
};

/** For hand-written path items (see `extraPaths`) that return the common error body. */
export const ERROR_RESPONSE_SCHEMA_REF = "#/components/schemas/ErrorResponse";

// ---------------------------------------------------------------------------------------------
// fastest-validator → JSON Schema
// ---------------------------------------------------------------------------------------------

/** A fastest-validator rule in its long form: shorthand strings and arrays already expanded. */
type RuleObject = { type: string; [option: string]: unknown };

/** The converted rule plus what only the parent object can express (its `required` list). */
export interface ConvertedRule {
	schema: JsonSchema;
	/** False for `optional: true` or a `default` (the validator fills it in), so the client may omit it. */
	required: boolean;
	/** `forbidden` fields must not be sent at all: they are left out of the document. */
	forbidden: boolean;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
	typeof value === "object" && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;

const isMetaKey = (key: string): boolean => key.startsWith("$$");

/** Mirrors fastest-validator's own shorthand parser so "no-", numbers and booleans read the same way. */
function parseShorthand(text: string): RuleObject {
	const [head, ...modifiers] = text.split("|").map(part => part.trim());
	const rule: RuleObject = head.endsWith("[]") ? { type: "array", items: head.slice(0, -2) } : { type: head };
	for (const modifier of modifiers) {
		const colon = modifier.indexOf(":");
		if (colon === -1) {
			if (modifier.startsWith("no-")) rule[modifier.slice(3)] = false;
			else rule[modifier] = true;
			continue;
		}
		const key = modifier.slice(0, colon).trim();
		const raw = modifier.slice(colon + 1).trim();
		rule[key] = raw === "true" ? true : raw === "false" ? false : raw !== "" && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
	}
	return rule;
}

/** Brings every way of writing a rule to the long form, or undefined when it is not a rule at all. */
function normalizeRule(rule: unknown): RuleObject | undefined {
	if (typeof rule === "string") return parseShorthand(rule);
	if (Array.isArray(rule)) return { type: "multi", rules: rule };
	if (!isPlainObject(rule)) return undefined;
	if (typeof rule.$$type === "string") {
		// `{ $$type: "object|optional", name: "string" }`: the other keys are the object's props.
		const props: Record<string, unknown> = {};
		for (const [key, value] of Object.entries(rule)) if (key !== "$$type") props[key] = value;
		return { ...parseShorthand(rule.$$type), props };
	}
	if (typeof rule.type === "string") return rule as RuleObject;
	return undefined;
}

const STRING_PATTERNS: Record<string, string> = {
	numeric: "^-?[0-9]\\d*(\\.\\d+)?$",
	alpha: "^[a-zA-Z]+$",
	alphanum: "^[a-zA-Z0-9]+$",
	alphadash: "^[a-zA-Z0-9_-]+$",
	hex: "^[0-9a-fA-F]+$",
	base64: "^(?:[A-Za-z0-9+\\/]{4})*(?:[A-Za-z0-9+\\/]{2}==|[A-Za-z0-9+/]{3}=)?$",
	singleLine: "^[^\\n]*$",
};

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const asNumber = (value: unknown): number | undefined => (typeof value === "number" && Number.isFinite(value) ? value : undefined);

/** Values that survive JSON.stringify unchanged, so they can be shown as a default or a constant. */
function isJsonValue(value: unknown): boolean {
	if (value === null || typeof value === "string" || typeof value === "boolean") return true;
	if (typeof value === "number") return Number.isFinite(value);
	if (Array.isArray(value)) return value.every(isJsonValue);
	if (isPlainObject(value)) return Object.values(value).every(isJsonValue);
	return false;
}

interface ConversionState {
	/** Rules being converted above the current one: fastest-validator allows cyclic schemas. */
	ancestors: Set<object>;
	notes: string[];
}

type RuleConverter = (rule: RuleObject, state: ConversionState) => JsonSchema;

/** Several patterns cannot share one `pattern` keyword; the extra ones go to `allOf`. */
function withPatterns(schema: JsonSchema, patterns: string[]): JsonSchema {
	if (patterns.length === 0) return schema;
	const [first, ...rest] = patterns;
	schema.pattern = first;
	if (rest.length > 0) schema.allOf = rest.map(pattern => ({ pattern }));
	return schema;
}

function patternSource(rule: RuleObject, notes: string[]): string | undefined {
	const { pattern, patternFlags } = rule;
	let source: string | undefined;
	let flags = typeof patternFlags === "string" ? patternFlags : "";
	if (pattern instanceof RegExp) {
		source = pattern.source;
		flags += pattern.flags;
	} else if (typeof pattern === "string") {
		source = pattern;
	}
	// JSON Schema patterns have no flags; say so rather than document a stricter pattern.
	if (source !== undefined && flags.includes("i")) notes.push("The pattern is matched case-insensitively.");
	return source;
}

function lengthBounds(rule: RuleObject, schema: JsonSchema, minKey: "minLength" | "minItems", maxKey: "maxLength" | "maxItems"): void {
	const exact = asNumber(rule.length);
	const min = exact ?? asNumber(rule.min);
	const max = exact ?? asNumber(rule.max);
	if (min !== undefined) schema[minKey] = min;
	if (max !== undefined) schema[maxKey] = max;
	if (rule.empty === false && (schema[minKey] ?? 0) < 1) schema[minKey] = 1;
}

function convertString(rule: RuleObject, state: ConversionState): JsonSchema {
	const schema: JsonSchema = { type: "string" };
	lengthBounds(rule, schema, "minLength", "maxLength");
	const patterns: string[] = [];
	const explicit = patternSource(rule, state.notes);
	if (explicit !== undefined) patterns.push(explicit);
	for (const [option, pattern] of Object.entries(STRING_PATTERNS)) if (rule[option] === true) patterns.push(pattern);
	if (typeof rule.contains === "string") patterns.push(escapeRegExp(rule.contains));
	if (Array.isArray(rule.enum)) schema.enum = rule.enum.filter(isJsonValue);
	return withPatterns(schema, patterns);
}

function convertNumber(rule: RuleObject, state: ConversionState): JsonSchema {
	const schema: JsonSchema = { type: rule.integer === true ? "integer" : "number" };
	const min = asNumber(rule.min);
	const max = asNumber(rule.max);
	if (min !== undefined) schema.minimum = min;
	if (max !== undefined) schema.maximum = max;
	if (rule.positive === true) schema.exclusiveMinimum = 0;
	if (rule.negative === true) schema.exclusiveMaximum = 0;
	if (asNumber(rule.equal) !== undefined) schema.const = rule.equal;
	if (asNumber(rule.notEqual) !== undefined) schema.not = { const: rule.notEqual };
	// Said in the docs because query strings arrive as text: with convert the validator accepts them.
	if (rule.convert === true) state.notes.push("Numeric text is accepted and converted (convert: true).");
	return schema;
}

function convertBoolean(rule: RuleObject, state: ConversionState): JsonSchema {
	if (rule.convert === true) state.notes.push('"true"/"false", "1"/"0" and "on"/"off" are accepted and converted (convert: true).');
	return { type: "boolean" };
}

/** The `properties`/`required` pair of a nested object; forbidden fields are left out, as in the params. */
function convertProperties(props: Record<string, unknown>, state: ConversionState): { properties: Record<string, JsonSchema>; required: string[] } {
	const properties: Record<string, JsonSchema> = {};
	const required: string[] = [];
	for (const [name, rule] of Object.entries(props)) {
		if (isMetaKey(name)) continue;
		const converted = convertRuleWithState(rule, state.ancestors);
		if (converted.forbidden) continue;
		properties[name] = converted.schema;
		if (converted.required) required.push(name);
	}
	return { properties, required };
}

function strictness(strict: unknown, schema: JsonSchema, notes: string[]): void {
	if (strict === true) schema.additionalProperties = false;
	// "remove" drops unknown properties silently: clients may send them, so they stay allowed.
	else if (strict === "remove") notes.push("Unknown properties are ignored.");
}

function convertObject(rule: RuleObject, state: ConversionState): JsonSchema {
	const schema: JsonSchema = { type: "object" };
	const props = isPlainObject(rule.props) ? rule.props : isPlainObject(rule.properties) ? rule.properties : undefined;
	if (props) {
		const { properties, required } = convertProperties(props, state);
		schema.properties = properties;
		if (required.length > 0) schema.required = required;
	}
	strictness(rule.strict, schema, state.notes);
	const minProps = asNumber(rule.minProps);
	const maxProps = asNumber(rule.maxProps);
	if (minProps !== undefined) schema.minProperties = minProps;
	if (maxProps !== undefined) schema.maxProperties = maxProps;
	return schema;
}

function convertArray(rule: RuleObject, state: ConversionState): JsonSchema {
	const schema: JsonSchema = { type: "array" };
	if (rule.items !== undefined) schema.items = convertRuleWithState(rule.items, state.ancestors).schema;
	lengthBounds(rule, schema, "minItems", "maxItems");
	if (rule.unique === true) schema.uniqueItems = true;
	if (Array.isArray(rule.enum)) {
		const allowed = rule.enum.filter(isJsonValue);
		schema.items = schema.items ? { ...schema.items, enum: allowed } : { enum: allowed };
	}
	if (rule.contains !== undefined && isJsonValue(rule.contains)) schema.contains = { const: rule.contains };
	if (rule.convert === true) state.notes.push("A single value is accepted and wrapped in an array.");
	return schema;
}

function convertTuple(rule: RuleObject, state: ConversionState): JsonSchema {
	if (!Array.isArray(rule.items)) return { type: "array" };
	const prefixItems = rule.items.map(item => convertRuleWithState(item, state.ancestors).schema);
	return { type: "array", prefixItems, items: false, minItems: prefixItems.length, maxItems: prefixItems.length };
}

function convertRecord(rule: RuleObject, state: ConversionState): JsonSchema {
	const schema: JsonSchema = { type: "object" };
	if (rule.key !== undefined) schema.propertyNames = convertRuleWithState(rule.key, state.ancestors).schema;
	if (rule.value !== undefined) schema.additionalProperties = convertRuleWithState(rule.value, state.ancestors).schema;
	return schema;
}

/** Gives enums a `type` when their values share one, so query parameters render with the right input. */
function enumType(values: unknown[]): JsonSchemaTypeName | undefined {
	if (values.length === 0) return undefined;
	if (values.every(value => typeof value === "string")) return "string";
	if (values.every(value => typeof value === "number")) return values.every(Number.isInteger) ? "integer" : "number";
	if (values.every(value => typeof value === "boolean")) return "boolean";
	return undefined;
}

function convertEnum(rule: RuleObject, state: ConversionState): JsonSchema {
	if (!Array.isArray(rule.values)) {
		state.notes.push("One of a fixed set of values (the set is not declared as a list).");
		return {};
	}
	const values = rule.values.filter(isJsonValue);
	const type = enumType(values);
	return type ? { type, enum: values } : { enum: values };
}

function convertEqual(rule: RuleObject, state: ConversionState): JsonSchema {
	const schema: JsonSchema = {};
	if (rule.value !== undefined && isJsonValue(rule.value)) schema.const = rule.value;
	if (typeof rule.field === "string") state.notes.push(`Must equal the "${rule.field}" field.`);
	return schema;
}

function convertDate(rule: RuleObject, state: ConversionState): JsonSchema {
	// The rule checks for a Date instance, which JSON cannot carry: only `convert: true` makes it usable over HTTP.
	if (rule.convert === true) state.notes.push("Any date that JavaScript's Date parses is accepted; send ISO 8601.");
	else state.notes.push("The action expects a Date object (no conversion declared), so callers over HTTP cannot satisfy it.");
	return { type: "string", format: "date-time" };
}

function convertMulti(rule: RuleObject, state: ConversionState): JsonSchema {
	if (!Array.isArray(rule.rules) || rule.rules.length === 0) return {};
	// anyOf, not oneOf: fastest-validator accepts a value that passes any of the rules, and rules
	// often overlap (a string and an email); oneOf would reject a value matching two of them.
	return { anyOf: rule.rules.map(sub => convertRuleWithState(sub, state.ancestors).schema) };
}

function notDescribable(kind: string): RuleConverter {
	return (_rule, state) => {
		state.notes.push(`Checked by ${kind}; its shape is not described here.`);
		return {};
	};
}

const RULE_CONVERTERS: Record<string, RuleConverter> = {
	string: convertString,
	number: convertNumber,
	boolean: convertBoolean,
	object: convertObject,
	array: convertArray,
	tuple: convertTuple,
	record: convertRecord,
	enum: convertEnum,
	equal: convertEqual,
	date: convertDate,
	multi: convertMulti,
	any: () => ({}),
	email: rule => {
		const schema: JsonSchema = { type: "string", format: "email" };
		lengthBounds(rule, schema, "minLength", "maxLength");
		return schema;
	},
	url: () => ({ type: "string", format: "uri", pattern: "^https?://" }),
	uuid: (rule, state) => {
		if (asNumber(rule.version) !== undefined) state.notes.push(`UUID version ${String(rule.version)}.`);
		return { type: "string", format: "uuid" };
	},
	objectID: () => ({ type: "string", pattern: "^[0-9a-fA-F]{24}$" }),
	mac: (_rule, state) => {
		state.notes.push("A MAC address.");
		return { type: "string" };
	},
	luhn: (_rule, state) => {
		state.notes.push("Digits passing the Luhn checksum (e.g. a card number).");
		return { type: "string" };
	},
	currency: (_rule, state) => {
		state.notes.push("A formatted currency amount.");
		return { type: "string" };
	},
	// A forbidden field may only appear inside `multi`, where it stands for "absent".
	forbidden: () => ({ not: {} }),
	custom: notDescribable("a custom function"),
	class: notDescribable("an instanceof check"),
	function: notDescribable("a function check"),
};

/** JSON Schema 2020-12 has no `nullable`: null joins the type list, or an alternative when there is no type. */
function allowNull(schema: JsonSchema): JsonSchema {
	if (typeof schema.type === "string") {
		const nullable: JsonSchema = { ...schema, type: [schema.type, "null"] };
		if (Array.isArray(schema.enum)) nullable.enum = [...schema.enum, null];
		if ("const" in schema) return { anyOf: [schema, { type: "null" }] };
		return nullable;
	}
	if (Array.isArray(schema.type)) return schema.type.includes("null") ? schema : { ...schema, type: [...schema.type, "null"] };
	if (Object.keys(schema).length === 0) return schema; // `{}` already accepts null.
	return { anyOf: [schema, { type: "null" }] };
}

function convertRuleWithState(input: unknown, ancestors: Set<object>): ConvertedRule {
	const rule = normalizeRule(input);
	if (!rule) {
		return {
			schema: { description: "Not a fastest-validator rule; its shape is not described here." },
			required: true,
			forbidden: false,
		};
	}
	const identity = typeof input === "object" && input !== null ? input : undefined;
	if (identity && ancestors.has(identity)) {
		return { schema: { description: "Recursive: the same structure as an enclosing value." }, required: true, forbidden: false };
	}

	const state: ConversionState = { ancestors: identity ? new Set([...ancestors, identity]) : ancestors, notes: [] };
	const converter = RULE_CONVERTERS[rule.type];
	let schema: JsonSchema = converter ? converter(rule, state) : {};
	if (!converter) state.notes.push(`Unrecognised validation rule "${rule.type}"; its shape is not described here.`);

	let nullable = rule.nullable === true;
	let optional = rule.optional === true;
	if (rule.type === "multi" && Array.isArray(rule.rules) && rule.rules.length > 0) {
		// fastest-validator marks a multi optional (or nullable) when every alternative is.
		const alternatives = rule.rules.map(normalizeRule);
		optional ||= alternatives.every(alternative => alternative?.optional === true);
		nullable ||= alternatives.every(alternative => alternative?.nullable === true);
	}
	if (nullable) schema = allowNull(schema);

	if (typeof rule.label === "string") schema.title = rule.label;
	const hasDefault = rule.default !== undefined && rule.default !== null;
	if (hasDefault) {
		if (typeof rule.default === "function") state.notes.push("Defaults to a value computed by the server.");
		else if (isJsonValue(rule.default)) schema.default = rule.default;
	}
	const description = [typeof rule.description === "string" ? rule.description : undefined, ...state.notes].filter(Boolean).join(" ");
	if (description) schema.description = description;

	return { schema, required: !optional && !hasDefault && rule.type !== "forbidden", forbidden: rule.type === "forbidden" };
}

/** Converts one fastest-validator rule (long form, shorthand string or array of alternatives). Never throws. */
export function convertParamRule(rule: unknown): ConvertedRule {
	return convertRuleWithState(rule, new Set());
}

export interface ConvertedParams {
	/** Top-level fields in declaration order; `forbidden` ones are already left out. */
	fields: { name: string; converted: ConvertedRule }[];
	/** `$$strict` (true: unknown fields are rejected; "remove": they are dropped). */
	strict: boolean | "remove";
}

/** Converts an action's `params` block: its top-level keys become query parameters or body properties. */
export function convertActionParams(params: Record<string, unknown> | undefined): ConvertedParams {
	if (!params) return { fields: [], strict: false };
	let props: Record<string, unknown> = params;
	let strictOption: unknown = params.$$strict;
	if (params.$$root === true) {
		// A `$$root` schema validates the whole params value as one rule; only an object one has fields.
		const { $$root: _root, ...rootRule } = params;
		const rule = normalizeRule(rootRule);
		props = rule && rule.type === "object" && isPlainObject(rule.props ?? rule.properties) ? ((rule.props ?? rule.properties) as Record<string, unknown>) : {};
		strictOption = rule?.strict;
	}
	const fields: ConvertedParams["fields"] = [];
	for (const [name, rule] of Object.entries(props)) {
		if (isMetaKey(name)) continue;
		const converted = convertParamRule(rule);
		if (!converted.forbidden) fields.push({ name, converted });
	}
	return { fields, strict: strictOption === true ? true : strictOption === "remove" ? "remove" : false };
}

// ---------------------------------------------------------------------------------------------
// Route paths (path-to-regexp 8 syntax) → OpenAPI path templates
// ---------------------------------------------------------------------------------------------

type PathToken =
	| { kind: "text"; value: string }
	| { kind: "param"; name: string; wildcard: boolean }
	| { kind: "group"; tokens: PathToken[] };

const PARAM_START = /[$_\p{ID_Start}]/u;
const PARAM_CONTINUE = /[$\u200c\u200d\p{ID_Continue}]/u;

/** Reads a `:name`/`*name` (plain or `"quoted"`) starting at `index`; returns the name and the next index. */
function readParamName(source: string, index: number): [string, number] {
	if (source[index] === '"') {
		let name = "";
		let i = index + 1;
		while (i < source.length && source[i] !== '"') {
			if (source[i] === "\\") i++;
			name += source[i] ?? "";
			i++;
		}
		return [name, i + 1];
	}
	let i = index;
	if (i < source.length && PARAM_START.test(source[i])) {
		i++;
		while (i < source.length && PARAM_CONTINUE.test(source[i])) i++;
	}
	return [source.slice(index, i), i];
}

/** A small reader for the path-to-regexp 8 grammar, kept here so the module depends on no router. */
function tokenizePath(source: string): PathToken[] {
	const stack: PathToken[][] = [[]];
	const push = (token: PathToken): void => {
		const current = stack[stack.length - 1];
		const last = current[current.length - 1];
		if (token.kind === "text" && last?.kind === "text") last.value += token.value;
		else current.push(token);
	};
	for (let i = 0; i < source.length; ) {
		const char = source[i];
		if (char === "\\" && i + 1 < source.length) {
			push({ kind: "text", value: source[i + 1] });
			i += 2;
		} else if (char === ":" || char === "*") {
			const [name, next] = readParamName(source, i + 1);
			if (name) push({ kind: "param", name, wildcard: char === "*" });
			else push({ kind: "text", value: char });
			i = name ? next : i + 1;
		} else if (char === "{") {
			stack.push([]);
			i++;
		} else if (char === "}" && stack.length > 1) {
			const tokens = stack.pop() ?? [];
			stack[stack.length - 1].push({ kind: "group", tokens });
			i++;
		} else {
			push({ kind: "text", value: char });
			i++;
		}
	}
	// An unclosed group is treated as literal content rather than failing the whole document.
	while (stack.length > 1) {
		const tokens = stack.pop() ?? [];
		stack[stack.length - 1].push(...tokens);
	}
	return stack[0];
}

export interface PathVariant {
	/** OpenAPI template, e.g. `/api/hunts/{id}/clues`. */
	template: string;
	/** Path parameter names in order of appearance. */
	params: string[];
	/** Names of `*splat` parameters, which span several segments. */
	wildcards: string[];
}

function cleanTemplate(template: string): string {
	let cleaned = `/${template}`.replace(/\/{2,}/g, "/");
	if (cleaned.length > 1 && cleaned.endsWith("/")) cleaned = cleaned.slice(0, -1);
	return cleaned;
}

/**
 * OpenAPI path parameters are always required, so each optional group `{…}` yields two documented
 * paths: one with the group, one without (`/api/hunts{/:id}` → `/api/hunts` and `/api/hunts/{id}`).
 */
export function expandRoutePath(routePath: string): PathVariant[] {
	const expand = (tokens: PathToken[]): PathVariant[] => {
		let variants: PathVariant[] = [{ template: "", params: [], wildcards: [] }];
		for (const token of tokens) {
			if (token.kind === "group") {
				const inner = expand(token.tokens);
				const withGroup = variants.flatMap(base =>
					inner.map(part => ({
						template: base.template + part.template,
						params: [...base.params, ...part.params],
						wildcards: [...base.wildcards, ...part.wildcards],
					})),
				);
				variants = [...variants, ...withGroup];
				continue;
			}
			variants = variants.map(base =>
				token.kind === "text"
					? { ...base, template: base.template + token.value }
					: {
							template: `${base.template}{${token.name}}`,
							params: [...base.params, token.name],
							wildcards: token.wildcard ? [...base.wildcards, token.name] : base.wildcards,
						},
			);
		}
		return variants;
	};
	// Different groups may collapse to the same path once slashes are cleaned up: keep the first.
	const byTemplate = new Map<string, PathVariant>();
	for (const variant of expand(tokenizePath(routePath))) {
		const template = cleanTemplate(variant.template);
		if (!byTemplate.has(template)) byTemplate.set(template, { ...variant, template });
	}
	return [...byTemplate.values()];
}

// ---------------------------------------------------------------------------------------------
// Document assembly
// ---------------------------------------------------------------------------------------------

/** Errors that every or some operations share: documented once and referenced. */
const STANDARD_ERRORS = {
	"400": { name: "BadRequest", description: "Malformed request (e.g. the body is not valid JSON)." },
	"401": { name: "Unauthorized", description: "Missing, expired or invalid access token." },
	"403": { name: "Forbidden", description: "The caller is authenticated but not allowed to do this." },
	"404": { name: "NotFound", description: "The resource named in the path does not exist (or is not visible to the caller)." },
	"413": { name: "PayloadTooLarge", description: "The request body is larger than the gateway accepts (BODY_LIMIT)." },
	"415": { name: "UnsupportedMediaType", description: "The request body is not JSON (send `Content-Type: application/json`)." },
	"422": { name: "ValidationFailed", description: "Parameters failed validation; `details` lists each problem." },
	"429": { name: "TooManyRequests", description: "Rate limit exceeded; retry after `Retry-After` seconds." },
	"503": { name: "ServiceUnavailable", description: "The service behind this operation is unavailable; retry after `Retry-After` seconds." },
} as const satisfies Record<string, { name: string; description: string }>;

const header = (name: keyof typeof RESPONSE_HEADERS) => ({ $ref: `#/components/headers/${name}` });

/** Headers the gateway sets, documented once. */
const RESPONSE_HEADERS = {
	"X-Request-ID": { description: "The request's id (yours when you sent a safe one); quote it when reporting a problem.", schema: { type: "string" } },
	"Retry-After": { description: "Seconds to wait before trying again.", schema: { type: "integer", minimum: 0 } },
	"WWW-Authenticate": { description: 'The scheme wanted: `Bearer realm="lootopia"`, with `error="invalid_token"` when the token itself was the problem.', schema: { type: "string" } },
	Location: { description: "Where the created resource lives.", schema: { type: "string" } },
} satisfies Record<string, { description: string; schema: JsonSchema }>;

/** Headers on each standard error response besides X-Request-ID. */
const STANDARD_ERROR_HEADERS: Partial<Record<keyof typeof STANDARD_ERRORS, Array<keyof typeof RESPONSE_HEADERS>>> = {
	"401": ["WWW-Authenticate"],
	"429": ["Retry-After"],
	"503": ["Retry-After"],
};

type StandardErrorStatus = keyof typeof STANDARD_ERRORS;

const SUCCESS_DESCRIPTIONS: Record<number, string> = { 200: "OK", 201: "Created", 202: "Accepted", 204: "No content" };

const errorContent = (): Record<string, OpenApiMediaType> => ({ "application/json": { schema: { $ref: ERROR_RESPONSE_SCHEMA_REF } } });

function buildComponents(): OpenApiDocument["components"] {
	const responses: Record<string, OpenApiResponse> = {};
	for (const [status, { name, description }] of Object.entries(STANDARD_ERRORS) as Array<[keyof typeof STANDARD_ERRORS, { name: string; description: string }]>) {
		const headers = Object.fromEntries(["X-Request-ID" as const, ...(STANDARD_ERROR_HEADERS[status] ?? [])].map(name => [name, header(name)]));
		responses[name] = { description, headers, content: errorContent() };
	}
	return {
		schemas: {
			ErrorResponse: {
				type: "object",
				required: ["error"],
				properties: {
					error: {
						type: "object",
						required: ["code", "message"],
						properties: {
							code: { type: "string", description: "Stable, machine-readable code, e.g. VALIDATION_FAILED.", examples: ["VALIDATION_FAILED"] },
							message: { type: "string", description: "Human-readable explanation; may change between versions." },
							details: { description: "Optional context, e.g. the list of validation problems." },
						},
					},
				},
			},
		},
		responses,
		headers: RESPONSE_HEADERS,
		securitySchemes: {
			bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "Access token from /api/auth/login or /api/auth/register." },
		},
	};
}

/** `v1.hunts.get` → `hunts`: a version prefix is not a useful group in the docs. */
function defaultTag(actionName: string): string {
	const segments = actionName.split(".");
	return segments.length > 2 && /^v\d+$/.test(segments[0]) ? segments[1] : segments[0];
}

function lookupAction(actions: BuildOpenApiInput["actions"], name: string): OpenApiActionInfo | undefined {
	if (actions instanceof Map) return actions.get(name);
	return Object.prototype.hasOwnProperty.call(actions, name) ? actions[name] : undefined;
}

function uniqueOperationId(base: string, used: Set<string>): string {
	let candidate = base;
	for (let n = 2; used.has(candidate); n++) candidate = `${base}_${n}`;
	used.add(candidate);
	return candidate;
}

/** Swagger UI shows the parameter's description, not its schema's: move it there. */
function splitDescription(schema: JsonSchema): { schema: JsonSchema; description?: string } {
	const { description, ...rest } = schema;
	return description === undefined ? { schema } : { schema: rest, description };
}

const IDEMPOTENCY_KEY_PARAMETER: OpenApiParameter = {
	name: "Idempotency-Key",
	in: "header",
	required: false,
	description:
		"Makes a retry safe: a second request from you with the same key and the same parameters (within 24 hours) gets the first one's response instead of creating another. " +
		"The same key with different parameters is 422 IDEMPOTENCY_KEY_REUSED; a malformed key is 400 INVALID_IDEMPOTENCY_KEY. A UUID per operation is a good key.",
	schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x21-\\x7E]+$" },
};

function queryParameter(name: string, converted: ConvertedRule): OpenApiParameter {
	const { schema, description } = splitDescription(converted.schema);
	// Documented with the type the action validates: query values arrive as text, and the rule's
	// `convert: true` (noted in the description) or the gateway turns them into that type.
	const parameter: OpenApiParameter = { name, in: "query", required: converted.required, schema };
	if (description) parameter.description = description;
	const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
	// The gateway parses query strings with `qs`, which reads nested objects from `a[b]=…`.
	if (types.includes("object")) Object.assign(parameter, { style: "deepObject", explode: true });
	return parameter;
}

function pathParameter(name: string, converted: ConvertedRule | undefined, wildcard: boolean): OpenApiParameter {
	const { schema, description } = splitDescription(converted?.schema ?? { type: "string" });
	const notes = description ? [description] : [];
	if (wildcard) notes.push("Spans the rest of the path (several segments).");
	const parameter: OpenApiParameter = { name, in: "path", required: true, schema };
	if (notes.length > 0) parameter.description = notes.join(" ");
	return parameter;
}

function bodySchema(fields: ConvertedParams["fields"], strict: ConvertedParams["strict"]): JsonSchema {
	const properties: Record<string, JsonSchema> = {};
	const required: string[] = [];
	for (const { name, converted } of fields) {
		properties[name] = converted.schema;
		if (converted.required) required.push(name);
	}
	const schema: JsonSchema = { type: "object", properties };
	if (required.length > 0) schema.required = required;
	const notes: string[] = [];
	strictness(strict, schema, notes);
	if (notes.length > 0) schema.description = notes.join(" ");
	return schema;
}

function buildResponses(meta: ActionOpenApiMeta, hasParams: boolean, hasPathParams: boolean, bearer: boolean, hasBody: boolean): Record<string, OpenApiResponseOrRef> {
	const responses: Record<string, OpenApiResponseOrRef> = {};
	const status = meta.successStatus ?? 200;
	const success: OpenApiResponse = { description: SUCCESS_DESCRIPTIONS[status] ?? "Success", headers: { "X-Request-ID": header("X-Request-ID") } };
	if (status === 201) success.headers!.Location = header("Location");
	if (status !== 204) success.content = { "application/json": { schema: meta.response ?? {} } };
	responses[String(status)] = success;

	const applicable: StandardErrorStatus[] = ["400"];
	if (bearer) applicable.push("401", "403");
	if (hasPathParams) applicable.push("404");
	if (hasBody) applicable.push("413", "415");
	if (hasParams) applicable.push("422");
	applicable.push("429", "503");
	for (const code of applicable) responses[code] = { $ref: `#/components/responses/${STANDARD_ERRORS[code].name}` };

	for (const [code, extra] of Object.entries(meta.responses ?? {})) {
		const response: OpenApiResponse = { description: extra.description };
		if (extra.schema) response.content = { "application/json": { schema: extra.schema } };
		else if (Number(code) >= 400) response.content = errorContent();
		responses[code] = response;
	}
	return responses;
}

function buildOperation(route: OpenApiRoute, variant: PathVariant, action: OpenApiActionInfo | undefined, operationId: string): OpenApiOperation {
	const meta = action?.openapi ?? {};
	const { fields, strict } = convertActionParams(action?.params);
	const byName = new Map(fields.map(field => [field.name, field.converted]));
	const pathNames = new Set(variant.params);
	const remaining = fields.filter(field => !pathNames.has(field.name));

	const parameters = variant.params.map(name => pathParameter(name, byName.get(name), variant.wildcards.includes(name)));
	let requestBody: OpenApiRequestBody | undefined;
	if (route.method === "GET" || route.method === "DELETE") {
		parameters.push(...remaining.map(({ name, converted }) => queryParameter(name, converted)));
	} else if (remaining.length > 0) {
		const schema = bodySchema(remaining, strict);
		requestBody = { required: (schema.required ?? []).length > 0, content: { "application/json": { schema } } };
	}

	if (action?.idempotencyKey) parameters.push(IDEMPOTENCY_KEY_PARAMETER);
	const bearer = meta.security ? meta.security === "bearer" : action?.access !== undefined && action.access !== "public";
	const descriptions = [meta.description];
	if (!action) descriptions.push("This action was not in the service registry when the document was built: its parameters are not described.");
	const description = descriptions.filter(Boolean).join("\n\n");

	const operation: OpenApiOperation = {
		operationId,
		summary: meta.summary ?? route.action,
		tags: meta.tags && meta.tags.length > 0 ? [...meta.tags] : [defaultTag(route.action)],
		responses: buildResponses(meta, fields.length > 0, variant.params.length > 0, bearer, requestBody !== undefined),
		"x-moleculer-action": route.action,
	};
	if (description) operation.description = description;
	if (meta.deprecated) operation.deprecated = true;
	if (parameters.length > 0) operation.parameters = parameters;
	if (requestBody) operation.requestBody = requestBody;
	// Public operations say so explicitly: no security requirement, whatever a default would be.
	operation.security = bearer ? [{ bearerAuth: [] }] : [];
	return operation;
}

const METHOD_ORDER: HttpMethod[] = ["GET", "PUT", "POST", "DELETE", "PATCH"];

/** Operation ids already taken by hand-written paths, so generated ones never collide with them. */
function operationIdsIn(paths: Record<string, unknown>): string[] {
	return Object.values(paths).flatMap(item =>
		isPlainObject(item) ? Object.values(item).flatMap(op => (isPlainObject(op) && typeof op.operationId === "string" ? [op.operationId] : [])) : [],
	);
}

export function buildOpenApiDocument(input: BuildOpenApiInput): OpenApiDocument {
	const extraPaths = input.extraPaths ?? {};
	const usedOperationIds = new Set(operationIdsIn(extraPaths));
	const paths: Record<string, OpenApiPathItem> = {};
	const tagOrder: string[] = [];

	// Sorted so operationId numbering and tag order do not depend on the order the registry listed
	// the aliases in; the sort is stable, so two aliases for the same method and path keep theirs.
	const routes = [...input.routes].sort(
		(a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) || METHOD_ORDER.indexOf(a.method) - METHOD_ORDER.indexOf(b.method),
	);
	for (const route of routes) {
		const action = lookupAction(input.actions, route.action);
		for (const variant of expandRoutePath(route.path)) {
			const item = (paths[variant.template] ??= {});
			const key = route.method.toLowerCase();
			// moleculer-web serves the first alias that matches, so the first one wins here too.
			if (item[key] !== undefined) continue;
			const operation = buildOperation(route, variant, action, uniqueOperationId(route.action, usedOperationIds));
			item[key] = operation;
			for (const tag of operation.tags) if (!tagOrder.includes(tag)) tagOrder.push(tag);
		}
	}

	for (const [pathKey, item] of Object.entries(extraPaths)) {
		if (!isPlainObject(item)) throw new TypeError(`extraPaths["${pathKey}"] must be an OpenAPI path item object`);
		// Hand-written entries are deliberate, so they win over what was generated for the same method.
		paths[pathKey] = { ...paths[pathKey], ...item };
		for (const op of Object.values(item)) {
			if (isPlainObject(op) && Array.isArray(op.tags)) {
				for (const tag of op.tags) if (typeof tag === "string" && !tagOrder.includes(tag)) tagOrder.push(tag);
			}
		}
	}

	const sortedPaths: Record<string, OpenApiPathItem> = {};
	for (const key of Object.keys(paths).sort()) sortedPaths[key] = paths[key];

	const document: OpenApiDocument = {
		openapi: "3.1.0",
		info: { ...input.info },
		tags: tagOrder.map(name => (input.tagDescriptions?.[name] ? { name, description: input.tagDescriptions[name] } : { name })),
		paths: sortedPaths,
		components: buildComponents(),
	};
	if (input.servers && input.servers.length > 0) document.servers = input.servers.map(server => ({ ...server }));
	return document;
}

// ---------------------------------------------------------------------------------------------
// Docs page (Swagger UI)
// ---------------------------------------------------------------------------------------------

/** Where swagger-ui-dist's files are; the gateway serves this folder at the page's `assetsBase`. */
export const swaggerUiAssetsDir: string = path.dirname(require.resolve("swagger-ui-dist/package.json"));

/**
 * Name under `assetsBase` at which the gateway serves `renderDocsInitializer(specUrl)`.
 * Distinct from swagger-ui-dist's own `swagger-initializer.js`, which points at the Petstore demo.
 */
export const DOCS_INITIALIZER_FILE = "lootopia-docs-init.js";

const escapeHtml = (text: string): string =>
	text.replace(/[&<>"']/g, char => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[char] ?? char);

const trimTrailingSlash = (url: string): string => url.replace(/\/+$/, "");

/** The page holds no inline script or style, so it works under `script-src 'self'; style-src 'self'`. */
export function renderDocsPage(opts: { specUrl: string; assetsBase: string; title: string }): string {
	const base = trimTrailingSlash(opts.assetsBase);
	const title = escapeHtml(opts.title);
	return [
		"<!doctype html>",
		'<html lang="en">',
		"<head>",
		'<meta charset="utf-8">',
		'<meta name="viewport" content="width=device-width, initial-scale=1">',
		`<title>${title}</title>`,
		`<link rel="stylesheet" href="${escapeHtml(`${base}/swagger-ui.css`)}">`,
		"</head>",
		"<body>",
		`<div id="swagger-ui"><noscript>${title}: this page needs JavaScript. The raw document is at <a href="${escapeHtml(opts.specUrl)}">${escapeHtml(opts.specUrl)}</a>.</noscript></div>`,
		`<script src="${escapeHtml(`${base}/swagger-ui-bundle.js`)}"></script>`,
		`<script src="${escapeHtml(`${base}/${DOCS_INITIALIZER_FILE}`)}"></script>`,
		"</body>",
		"</html>",
		"",
	].join("\n");
}

/** The script the page loads after swagger-ui-bundle.js; serve it as `${assetsBase}/${DOCS_INITIALIZER_FILE}`. */
export function renderDocsInitializer(specUrl: string): string {
	// JSON.stringify makes a safe JS string literal; "<" is escaped too in case someone inlines it after all.
	const url = JSON.stringify(specUrl).replace(/</g, "\\u003c");
	return [
		'"use strict";',
		'window.addEventListener("load", function () {',
		"\twindow.ui = SwaggerUIBundle({",
		`\t\turl: ${url},`,
		'\t\tdom_id: "#swagger-ui",',
		"\t\tdeepLinking: true,",
		"\t\tpresets: [SwaggerUIBundle.presets.apis],",
		'\t\tlayout: "BaseLayout",',
		"\t});",
		"});",
		"",
	].join("\n");
}
