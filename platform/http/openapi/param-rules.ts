/**
 * fastest-validator rules (what actions declare as `params`) → JSON Schema, so each parameter is
 * documented as the validator checks it.
 */
import { isPlainObject } from "../../objects";
import type { JsonSchema, JsonSchemaTypeName } from "./types";

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

export function strictness(strict: unknown, schema: JsonSchema, notes: string[]): void {
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
