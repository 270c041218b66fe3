/**
 * A contract's params schema (TypeBox, i.e. JSON Schema) as fastest-validator rules, the validator
 * Moleculer runs before every handler. Keeping Moleculer's validator keeps its behaviour and error
 * shape (VALIDATION_FAILED with `details`) that clients rely on; the schema stays the one source.
 *
 * Only the JSON Schema a contract uses is translated; anything else fails when the service is
 * created, never at request time.
 */
import { isOptional, kindOf, validatorExtrasOf, type TObject, type TSchema } from "../../contracts/kit";

type Rule = Record<string, unknown>;

const FORMAT_TYPES: Record<string, string> = { email: "email", uuid: "uuid", uri: "url" };

function literalValues(schemas: TSchema[]): unknown[] | undefined {
	const values = schemas.map(schema => (kindOf(schema) === "Literal" ? (schema as unknown as { const: unknown }).const : undefined));
	return values.every(value => value !== undefined) ? values : undefined;
}

function baseRule(schema: TSchema, path: string): Rule {
	const s = schema as Record<string, unknown> & TSchema;
	switch (kindOf(schema)) {
		case "String": {
			const type = typeof s.format === "string" ? (FORMAT_TYPES[s.format] ?? "string") : "string";
			const rule: Rule = { type };
			if (s.minLength !== undefined) rule.min = s.minLength;
			if (s.maxLength !== undefined) rule.max = s.maxLength;
			if (s.pattern !== undefined) Object.assign(rule, { pattern: s.pattern, patternFlags: "u" });
			return rule;
		}
		case "Number":
		case "Integer": {
			const rule: Rule = { type: "number" };
			if (kindOf(schema) === "Integer") rule.integer = true;
			if (s.minimum !== undefined) rule.min = s.minimum;
			if (s.maximum !== undefined) rule.max = s.maximum;
			if (s.exclusiveMinimum === 0) rule.positive = true;
			return rule;
		}
		case "Boolean":
			return { type: "boolean" };
		case "Literal":
			return { type: "equal", value: s.const, strict: true };
		case "Union": {
			const members = s.anyOf as TSchema[];
			const nonNull = members.filter(member => kindOf(member) !== "Null");
			const values = literalValues(nonNull);
			const rule: Rule = values ? { type: "enum", values } : nonNull.length === 1 ? ruleOf(nonNull[0], path) : { type: "multi", rules: nonNull.map(member => ruleOf(member, path)) };
			if (nonNull.length < members.length) rule.nullable = true;
			return rule;
		}
		case "Object": {
			const { props, strict } = objectRules(schema as TObject, path);
			return { type: "object", props, ...(strict ? { strict } : {}) };
		}
		case "Array": {
			const rule: Rule = { type: "array", items: ruleOf(s.items as TSchema, `${path}[]`) };
			if (s.minItems !== undefined) rule.min = s.minItems;
			if (s.maxItems !== undefined) rule.max = s.maxItems;
			if (s.uniqueItems) rule.unique = true;
			return rule;
		}
		case "Record":
			return { type: "record", value: ruleOf(Object.values(s.patternProperties as Record<string, TSchema>)[0], `${path}{}`) };
		case "Any":
		case "Unknown":
			return { type: "any" };
		default:
			throw new Error(`Params field "${path}": no validator rule for a ${kindOf(schema)} schema`);
	}
}

function ruleOf(schema: TSchema, path: string): Rule {
	const rule = baseRule(schema, path);
	const s = schema as Record<string, unknown>;
	if (isOptional(schema)) rule.optional = true;
	if (s.default !== undefined) rule.default = s.default;
	const extras = validatorExtrasOf(schema);
	if (extras) Object.assign(rule, extras);
	return rule;
}

function objectRules(schema: TObject, path: string): { props: Record<string, Rule>; strict?: true | "remove" } {
	if (kindOf(schema) !== "Object") throw new Error(`Params of ${path || "an action"} must be an object schema`);
	const props: Record<string, Rule> = {};
	for (const [name, property] of Object.entries(schema.properties)) props[name] = ruleOf(property, path ? `${path}.${name}` : name);
	// additionalProperties: false refuses unknown fields (422); absent, they are dropped before the handler.
	const strict = schema.additionalProperties === false ? true : "remove";
	return { props, strict };
}

/** The params schema of an action as Moleculer's `params`. */
export function validatorRulesOf(params: TObject): Record<string, unknown> {
	const { props, strict } = objectRules(params, "");
	return { $$strict: strict, ...props };
}
