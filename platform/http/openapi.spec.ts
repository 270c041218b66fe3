import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import Ajv2020 from "ajv/dist/2020";
import {
	buildOpenApiDocument,
	BuildOpenApiInput,
	convertActionParams,
	convertParamRule,
	DOCS_INITIALIZER_FILE,
	ERROR_RESPONSE_SCHEMA_REF,
	expandRoutePath,
	JsonSchema,
	OpenApiActionInfo,
	OpenApiDocument,
	OpenApiOperation,
	OpenApiResponse,
	renderDocsInitializer,
	renderDocsPage,
	swaggerUiAssetsDir,
} from "./openapi";

/** The validator is ESM-only; jest runs this file as CommonJS, so it is loaded with import(). */
async function validateDocument(doc: Record<string, unknown>): Promise<{ valid: boolean; errors?: unknown }> {
	const { Validator } = await import("@seriousme/openapi-schema-validator");
	return new Validator().validate(doc);
}

const schemaOf = (rule: unknown): JsonSchema => convertParamRule(rule).schema;

/**
 * The OpenAPI validator does not look inside Schema Objects (it accepts `type: "email"`), so every
 * schema of the document is also compiled by Ajv against JSON Schema 2020-12, in strict mode, which
 * rejects unknown keywords and misplaced ones. Formats are only declared: checking values is not the point.
 */
const strictAjv = new Ajv2020({ strict: true, formats: { email: true, uuid: true, uri: true, "date-time": true } });

function schemasIn(doc: OpenApiDocument): { where: string; schema: JsonSchema }[] {
	const found: { where: string; schema: JsonSchema }[] = Object.entries(doc.components.schemas).map(([name, schema]) => ({ where: name, schema }));
	const fromContent = (where: string, content: Record<string, { schema: JsonSchema }> | undefined): void => {
		for (const [type, media] of Object.entries(content ?? {})) found.push({ where: `${where} ${type}`, schema: media.schema });
	};
	for (const [pathKey, item] of Object.entries(doc.paths)) {
		for (const method of ["get", "put", "post", "delete", "patch"] as const) {
			const op = item[method];
			if (!op) continue;
			const where = `${method.toUpperCase()} ${pathKey}`;
			for (const parameter of op.parameters ?? []) found.push({ where: `${where} ${parameter.in}:${parameter.name}`, schema: parameter.schema });
			fromContent(`${where} body`, op.requestBody?.content);
			for (const [status, response] of Object.entries(op.responses)) if (!("$ref" in response)) fromContent(`${where} ${status}`, response.content);
		}
	}
	// A bare reference to the shared error body is checked where it is defined.
	return found.filter(({ schema }) => schema.$ref !== ERROR_RESPONSE_SCHEMA_REF);
}

function schemaProblems(doc: OpenApiDocument): string[] {
	return schemasIn(doc).flatMap(({ where, schema }) => {
		try {
			strictAjv.compile(schema);
			return [];
		} catch (err) {
			return [`${where}: ${(err as Error).message}`];
		}
	});
}

function operation(doc: OpenApiDocument, pathKey: string, method: "get" | "post" | "put" | "patch" | "delete"): OpenApiOperation {
	const op = doc.paths[pathKey]?.[method];
	if (!op) throw new Error(`no ${method.toUpperCase()} ${pathKey} in ${Object.keys(doc.paths).join(", ")}`);
	return op;
}

function bodySchemaOf(op: OpenApiOperation): JsonSchema {
	const schema = op.requestBody?.content["application/json"]?.schema;
	if (!schema) throw new Error(`${op.operationId} has no JSON body`);
	return schema;
}

const minimalInput = (overrides: Partial<BuildOpenApiInput>): BuildOpenApiInput => ({
	info: { title: "Test", version: "1.0.0" },
	routes: [],
	actions: {},
	...overrides,
});

describe("convertParamRule: fastest-validator → JSON Schema", () => {
	it("converts string limits, length, pattern and enum", () => {
		expect(schemaOf({ type: "string", min: 3, max: 64 })).toEqual({ type: "string", minLength: 3, maxLength: 64 });
		expect(schemaOf({ type: "string", length: 6 })).toEqual({ type: "string", minLength: 6, maxLength: 6 });
		expect(schemaOf({ type: "string", pattern: "^[A-Z]{3}$" })).toEqual({ type: "string", pattern: "^[A-Z]{3}$" });
		expect(schemaOf({ type: "string", pattern: /^ab+$/ })).toEqual({ type: "string", pattern: "^ab+$" });
		expect(schemaOf({ type: "string", enum: ["public", "private"] })).toEqual({ type: "string", enum: ["public", "private"] });
		expect(schemaOf({ type: "string", empty: false })).toEqual({ type: "string", minLength: 1 });
	});

	it("says when a pattern is case-insensitive, since JSON Schema patterns have no flags", () => {
		expect(schemaOf({ type: "string", pattern: /^ab$/i }).description).toMatch(/case-insensitive/);
		expect(schemaOf({ type: "string", pattern: "^ab$", patternFlags: "i" }).description).toMatch(/case-insensitive/);
	});

	it("turns character-class options into patterns, keeping every one when there are several", () => {
		expect(schemaOf({ type: "string", alphanum: true })).toEqual({ type: "string", pattern: "^[a-zA-Z0-9]+$" });
		expect(schemaOf({ type: "string", pattern: "^a", hex: true, contains: "f.f" })).toEqual({
			type: "string",
			pattern: "^a",
			allOf: [{ pattern: "^[0-9a-fA-F]+$" }, { pattern: "f\\.f" }],
		});
	});

	it("converts email, url, uuid and objectID to string formats", () => {
		expect(schemaOf({ type: "email", max: 254 })).toEqual({ type: "string", format: "email", maxLength: 254 });
		expect(schemaOf("url")).toEqual({ type: "string", format: "uri", pattern: "^https?://" });
		expect(schemaOf("uuid")).toEqual({ type: "string", format: "uuid" });
		expect(schemaOf({ type: "uuid", version: 4 })).toEqual({ type: "string", format: "uuid", description: "UUID version 4." });
		expect(schemaOf("objectID")).toEqual({ type: "string", pattern: "^[0-9a-fA-F]{24}$" });
	});

	it("documents dates as ISO 8601 strings and warns when the rule cannot be met over HTTP", () => {
		const converting = schemaOf({ type: "date", convert: true });
		expect(converting).toMatchObject({ type: "string", format: "date-time" });
		expect(converting.description).toMatch(/ISO 8601/);
		expect(schemaOf("date").description).toMatch(/cannot satisfy/);
	});

	it("converts numbers: bounds, integer, positive/negative, equal/notEqual, convert", () => {
		expect(schemaOf({ type: "number", min: -90, max: 90 })).toEqual({ type: "number", minimum: -90, maximum: 90 });
		expect(schemaOf({ type: "number", integer: true, positive: true })).toEqual({ type: "integer", exclusiveMinimum: 0 });
		expect(schemaOf({ type: "number", negative: true })).toEqual({ type: "number", exclusiveMaximum: 0 });
		expect(schemaOf({ type: "number", equal: 5 })).toEqual({ type: "number", const: 5 });
		expect(schemaOf({ type: "number", notEqual: 0 })).toEqual({ type: "number", not: { const: 0 } });
		expect(schemaOf({ type: "number", convert: true }).description).toMatch(/converted \(convert: true\)/);
	});

	it("converts booleans, with a note when text is converted", () => {
		expect(schemaOf("boolean")).toEqual({ type: "boolean" });
		expect(schemaOf({ type: "boolean", convert: true }).description).toMatch(/"true"\/"false"/);
	});

	it("converts nested objects with their own required lists and strictness", () => {
		const schema = schemaOf({
			type: "object",
			strict: true,
			props: {
				lat: "number|min:-90|max:90",
				lon: "number|min:-180|max:180",
				meta: { type: "object", optional: true, props: { note: "string|optional", level: "number" } },
			},
		});
		expect(schema).toEqual({
			type: "object",
			additionalProperties: false,
			required: ["lat", "lon"],
			properties: {
				lat: { type: "number", minimum: -90, maximum: 90 },
				lon: { type: "number", minimum: -180, maximum: 180 },
				meta: { type: "object", required: ["level"], properties: { note: { type: "string" }, level: { type: "number" } } },
			},
		});
	});

	it("accepts `properties` as well as `props`, the $$type object shorthand, and minProps/maxProps", () => {
		expect(schemaOf({ type: "object", properties: { a: "string" } })).toEqual({ type: "object", properties: { a: { type: "string" } }, required: ["a"] });
		const viaMeta = convertParamRule({ $$type: "object|optional", name: "string", age: "number|optional" });
		expect(viaMeta.required).toBe(false);
		expect(viaMeta.schema).toEqual({ type: "object", properties: { name: { type: "string" }, age: { type: "number" } }, required: ["name"] });
		expect(schemaOf({ type: "object", minProps: 1, maxProps: 3 })).toEqual({ type: "object", minProperties: 1, maxProperties: 3 });
	});

	it("keeps unknown properties allowed for strict: 'remove', which drops them instead of failing", () => {
		const schema = schemaOf({ type: "object", strict: "remove", props: { a: "string" } });
		expect(schema.additionalProperties).toBeUndefined();
		expect(schema.description).toMatch(/ignored/);
	});

	it("converts arrays: items, min/max/length, empty, unique, enum, contains", () => {
		expect(schemaOf({ type: "array", items: "string|max:200", min: 1, max: 5 })).toEqual({
			type: "array",
			items: { type: "string", maxLength: 200 },
			minItems: 1,
			maxItems: 5,
		});
		expect(schemaOf({ type: "array", items: "number", length: 2 })).toEqual({ type: "array", items: { type: "number" }, minItems: 2, maxItems: 2 });
		expect(schemaOf({ type: "array", empty: false, unique: true })).toEqual({ type: "array", minItems: 1, uniqueItems: true });
		expect(schemaOf({ type: "array", items: "string", enum: ["a", "b"] })).toEqual({ type: "array", items: { type: "string", enum: ["a", "b"] } });
		expect(schemaOf({ type: "array", contains: "x" })).toEqual({ type: "array", contains: { const: "x" } });
	});

	it("converts arrays of objects (the clue graph's [{from, to}])", () => {
		expect(schemaOf({ type: "array", items: { type: "object", props: { from: "string", to: "string" } } })).toEqual({
			type: "array",
			items: { type: "object", properties: { from: { type: "string" }, to: { type: "string" } }, required: ["from", "to"] },
		});
	});

	it("converts enum rules and gives them a type when every value shares one", () => {
		expect(schemaOf({ type: "enum", values: ["linear", "free", "branching"] })).toEqual({ type: "string", enum: ["linear", "free", "branching"] });
		expect(schemaOf({ type: "enum", values: [1, 2, 3] })).toEqual({ type: "integer", enum: [1, 2, 3] });
		expect(schemaOf({ type: "enum", values: ["a", 1] })).toEqual({ enum: ["a", 1] });
	});

	it("converts equal to const, and explains equality with another field", () => {
		expect(schemaOf({ type: "equal", value: true, strict: true })).toEqual({ const: true });
		expect(schemaOf({ type: "equal", field: "password" }).description).toMatch(/"password" field/);
	});

	it("converts any to the empty schema", () => {
		expect(schemaOf("any")).toEqual({});
	});

	it("converts multi rules and rule arrays to anyOf, optional only when every alternative is", () => {
		expect(schemaOf({ type: "multi", rules: ["string", "number"] })).toEqual({ anyOf: [{ type: "string" }, { type: "number" }] });
		expect(convertParamRule(["string|optional", "number|optional"]).required).toBe(false);
		expect(convertParamRule(["string|optional", "number"]).required).toBe(true);
	});

	it("converts tuple and record rules", () => {
		expect(schemaOf({ type: "tuple", items: ["number", "number"] })).toEqual({
			type: "array",
			prefixItems: [{ type: "number" }, { type: "number" }],
			items: false,
			minItems: 2,
			maxItems: 2,
		});
		expect(schemaOf({ type: "record", key: "string|alpha", value: "number" })).toEqual({
			type: "object",
			propertyNames: { type: "string", pattern: "^[a-zA-Z]+$" },
			additionalProperties: { type: "number" },
		});
	});

	it("marks optional and defaulted fields as not required, and shows JSON defaults", () => {
		expect(convertParamRule("string").required).toBe(true);
		expect(convertParamRule("string|optional").required).toBe(false);
		const defaulted = convertParamRule({ type: "number", default: 10 });
		expect(defaulted.required).toBe(false);
		expect(defaulted.schema.default).toBe(10);
		const computed = convertParamRule({ type: "date", default: () => new Date() });
		expect(computed.required).toBe(false);
		expect(computed.schema.default).toBeUndefined();
		expect(computed.schema.description).toMatch(/computed by the server/);
	});

	it("adds null to the type (and enum) of nullable rules", () => {
		expect(schemaOf({ type: "string", nullable: true })).toEqual({ type: ["string", "null"] });
		expect(schemaOf({ type: "enum", values: ["a"], nullable: true })).toEqual({ type: ["string", "null"], enum: ["a", null] });
		expect(schemaOf({ type: "equal", value: 1, nullable: true })).toEqual({ anyOf: [{ const: 1 }, { type: "null" }] });
		expect(convertParamRule({ type: "string", nullable: true }).required).toBe(true);
	});

	it("reads shorthand strings the way fastest-validator does", () => {
		const rule = convertParamRule("string|optional|min:3|max:64");
		expect(rule.required).toBe(false);
		expect(rule.schema).toEqual({ type: "string", minLength: 3, maxLength: 64 });
		expect(schemaOf("number|integer|positive")).toEqual({ type: "integer", exclusiveMinimum: 0 });
		expect(schemaOf("string[]|min:1")).toEqual({ type: "array", items: { type: "string" }, minItems: 1 });
		expect(schemaOf("number|no-convert").description).toBeUndefined();
		expect(schemaOf("number|convert:true").description).toMatch(/convert: true/);
		expect(schemaOf("email|max:254")).toEqual({ type: "string", format: "email", maxLength: 254 });
	});

	it("uses label as title and keeps a rule's own description first", () => {
		expect(schemaOf({ type: "number", label: "Latitude", description: "WGS 84 degrees", convert: true })).toEqual({
			type: "number",
			title: "Latitude",
			description: "WGS 84 degrees Numeric text is accepted and converted (convert: true).",
		});
	});

	it("never throws: unknown types, custom checks, non-rules and cyclic schemas get a described {}", () => {
		expect(schemaOf({ type: "geohash" })).toEqual({ description: expect.stringMatching(/Unrecognised validation rule "geohash"/) });
		expect(schemaOf({ type: "custom", check: () => true })).toEqual({ description: expect.stringMatching(/custom function/) });
		expect(schemaOf({ type: "class", instanceOf: Buffer }).description).toMatch(/instanceof/);
		expect(schemaOf(42).description).toMatch(/Not a fastest-validator rule/);
		expect(schemaOf({ min: 3 }).description).toMatch(/Not a fastest-validator rule/);

		const node: { type: string; optional: boolean; props: Record<string, unknown> } = { type: "object", optional: true, props: { name: "string" } };
		node.props.child = node;
		const cyclic = schemaOf(node);
		expect(cyclic.properties?.child).toEqual({ description: expect.stringMatching(/Recursive/) });
	});
});

describe("convertActionParams", () => {
	it("skips $$ meta keys and forbidden fields, and reads $$strict", () => {
		const params = convertActionParams({ $$strict: true, $$async: true, id: "string", secret: "forbidden", q: "string|optional" });
		expect(params.strict).toBe(true);
		expect(params.fields.map(field => field.name)).toEqual(["id", "q"]);
		expect(convertActionParams({ $$strict: "remove", a: "string" }).strict).toBe("remove");
		expect(convertActionParams(undefined)).toEqual({ fields: [], strict: false });
	});

	it("takes the fields of a $$root object schema", () => {
		const params = convertActionParams({ $$root: true, type: "object", strict: true, props: { code: "string|length:8" } });
		expect(params.strict).toBe(true);
		expect(params.fields).toEqual([{ name: "code", converted: expect.objectContaining({ schema: { type: "string", minLength: 8, maxLength: 8 } }) }]);
	});
});

describe("expandRoutePath", () => {
	it("turns :params into {templates}, in order", () => {
		expect(expandRoutePath("/api/hunts/:id/clues")).toEqual([{ template: "/api/hunts/{id}/clues", params: ["id"], wildcards: [] }]);
		expect(expandRoutePath("/api/hunts/:huntId/clues/:clueId")[0]).toMatchObject({ template: "/api/hunts/{huntId}/clues/{clueId}", params: ["huntId", "clueId"] });
	});

	it("documents an optional {/:id} group as two paths, with and without it", () => {
		expect(expandRoutePath("/api/hunts{/:id}")).toEqual([
			{ template: "/api/hunts", params: [], wildcards: [] },
			{ template: "/api/hunts/{id}", params: ["id"], wildcards: [] },
		]);
		expect(expandRoutePath("/api/a{/:b{/:c}}").map(variant => variant.template)).toEqual(["/api/a", "/api/a/{b}", "/api/a/{b}/{c}"]);
	});

	it("reads wildcards, quoted names and escapes, and tidies slashes", () => {
		expect(expandRoutePath("/files/*rest")).toEqual([{ template: "/files/{rest}", params: ["rest"], wildcards: ["rest"] }]);
		expect(expandRoutePath('/a/:"hunt id"/b')[0].params).toEqual(["hunt id"]);
		expect(expandRoutePath("/a/\\:literal")[0]).toEqual({ template: "/a/:literal", params: [], wildcards: [] });
		expect(expandRoutePath("api//hunts/")[0].template).toBe("/api/hunts");
		expect(expandRoutePath("/")[0].template).toBe("/");
	});
});

describe("buildOpenApiDocument", () => {
	it("declares path parameters as required, typed from the action's params, string otherwise", () => {
		const doc = buildOpenApiDocument(
			minimalInput({
				routes: [{ method: "GET", path: "/api/hunts/:id/clues/:index", action: "hunts.clue" }],
				actions: { "hunts.clue": { name: "hunts.clue", params: { index: { type: "number", integer: true, convert: true } } } },
			}),
		);
		expect(operation(doc, "/api/hunts/{id}/clues/{index}", "get").parameters).toEqual([
			{ name: "id", in: "path", required: true, schema: { type: "string" } },
			{ name: "index", in: "path", required: true, schema: { type: "integer" }, description: "Numeric text is accepted and converted (convert: true)." },
		]);
	});

	it("puts the remaining params of GET and DELETE in the query string", () => {
		const doc = buildOpenApiDocument(
			minimalInput({
				routes: [
					{ method: "GET", path: "/api/hunts", action: "hunts.search" },
					{ method: "DELETE", path: "/api/hunts/:id", action: "hunts.remove" },
				],
				actions: {
					"hunts.search": {
						name: "hunts.search",
						params: { lat: { type: "number", convert: true }, q: "string|optional", near: { type: "object", optional: true, props: { lat: "number" } } },
					},
					"hunts.remove": { name: "hunts.remove", params: { id: "string", force: "boolean|optional" } },
				},
			}),
		);
		const search = operation(doc, "/api/hunts", "get");
		expect(search.requestBody).toBeUndefined();
		expect(search.parameters).toEqual([
			{
				name: "lat",
				in: "query",
				required: true,
				schema: { type: "number" },
				description: "Numeric text is accepted and converted (convert: true).",
			},
			{ name: "q", in: "query", required: false, schema: { type: "string" } },
			expect.objectContaining({ name: "near", in: "query", style: "deepObject", explode: true }),
		]);
		const remove = operation(doc, "/api/hunts/{id}", "delete");
		expect(remove.parameters?.map(p => `${p.in}:${p.name}`)).toEqual(["path:id", "query:force"]);
		expect(remove.requestBody).toBeUndefined();
	});

	it("puts the remaining params of POST, PUT and PATCH in a JSON body, required only if a field is", () => {
		const doc = buildOpenApiDocument(
			minimalInput({
				routes: [
					{ method: "POST", path: "/api/hunts/:id/clues", action: "hunts.addClue" },
					{ method: "PATCH", path: "/api/users/me", action: "users.update" },
					{ method: "PUT", path: "/api/hunts/:id/paths", action: "hunts.setPaths" },
					{ method: "POST", path: "/api/hunts/:id/publish", action: "hunts.publish" },
				],
				actions: {
					"hunts.addClue": { name: "hunts.addClue", params: { $$strict: true, id: "string", lat: "number", lon: "number", hint: "string|optional" } },
					"users.update": { name: "users.update", params: { displayName: "string|optional|min:2" } },
					"hunts.setPaths": { name: "hunts.setPaths", params: { id: "string", paths: { type: "array", items: { type: "object", props: { from: "string", to: "string" } } } } },
					"hunts.publish": { name: "hunts.publish", params: { id: "string" } },
				},
			}),
		);
		const addClue = operation(doc, "/api/hunts/{id}/clues", "post");
		expect(addClue.parameters).toEqual([{ name: "id", in: "path", required: true, schema: { type: "string" } }]);
		expect(addClue.requestBody?.required).toBe(true);
		expect(bodySchemaOf(addClue)).toEqual({
			type: "object",
			properties: { lat: { type: "number" }, lon: { type: "number" }, hint: { type: "string" } },
			required: ["lat", "lon"],
			additionalProperties: false,
		});
		expect(operation(doc, "/api/users/me", "patch").requestBody?.required).toBe(false);
		expect(bodySchemaOf(operation(doc, "/api/hunts/{id}/paths", "put")).required).toEqual(["paths"]);
		expect(operation(doc, "/api/hunts/{id}/publish", "post").requestBody).toBeUndefined();
	});

	it("documents the error responses that apply, all with the shared error body", () => {
		const doc = buildOpenApiDocument(
			minimalInput({
				routes: [
					{ method: "GET", path: "/api/notifications", action: "notifications.list" },
					{ method: "POST", path: "/api/rewards/:id/claim", action: "rewards.claim" },
					{ method: "POST", path: "/api/auth/login", action: "auth.login" },
				],
				actions: {
					"notifications.list": { name: "notifications.list", openapi: { security: "bearer" } },
					"rewards.claim": {
						name: "rewards.claim",
						params: { id: "string" },
						openapi: { security: "bearer", successStatus: 201, responses: { "409": { description: "No reward left" }, "404": { description: "No such reward" } } },
					},
					"auth.login": { name: "auth.login", params: { email: "email", password: "string" }, openapi: { security: "none" } },
				},
			}),
		);
		const codes = (op: OpenApiOperation): string[] => Object.keys(op.responses).sort();
		expect(codes(operation(doc, "/api/notifications", "get"))).toEqual(["200", "400", "401", "403", "429", "503"]);
		expect(codes(operation(doc, "/api/rewards/{id}/claim", "post"))).toEqual(["201", "400", "401", "403", "404", "409", "422", "429", "503"]);
		// A body means 413 and 415 can happen.
		expect(codes(operation(doc, "/api/auth/login", "post"))).toEqual(["200", "400", "413", "415", "422", "429", "503"]);

		const claim = operation(doc, "/api/rewards/{id}/claim", "post");
		expect(claim.security).toEqual([{ bearerAuth: [] }]);
		expect(claim.responses["409"]).toEqual({ description: "No reward left", content: { "application/json": { schema: { $ref: ERROR_RESPONSE_SCHEMA_REF } } } });
		expect((claim.responses["404"] as OpenApiResponse).description).toBe("No such reward");
		// Public operations say so explicitly.
		expect(operation(doc, "/api/auth/login", "post").security).toEqual([]);
		// Each 401 names its challenge header, throttling responses their Retry-After.
		expect(doc.components.responses.Unauthorized.headers).toEqual({
			"X-Request-ID": { $ref: "#/components/headers/X-Request-ID" },
			"WWW-Authenticate": { $ref: "#/components/headers/WWW-Authenticate" },
		});
		expect(doc.components.responses.TooManyRequests.headers).toMatchObject({ "Retry-After": { $ref: "#/components/headers/Retry-After" } });
		expect(Object.keys(doc.components.headers).sort()).toEqual(["Location", "Retry-After", "WWW-Authenticate", "X-Request-ID"]);

		// Every referenced standard response carries the shared ErrorResponse schema.
		for (const response of Object.values(doc.components.responses)) {
			expect(response.content?.["application/json"]?.schema).toEqual({ $ref: ERROR_RESPONSE_SCHEMA_REF });
		}
		expect(claim.responses["422"]).toEqual({ $ref: "#/components/responses/ValidationFailed" });
		expect(doc.components.schemas.ErrorResponse).toMatchObject({
			required: ["error"],
			properties: { error: { required: ["code", "message"], properties: { code: { type: "string" }, message: { type: "string" } } } },
		});
		expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer", bearerFormat: "JWT" });
	});

	it("documents the success response from successStatus and response", () => {
		const doc = buildOpenApiDocument(
			minimalInput({
				routes: [
					{ method: "POST", path: "/api/rewards/:id/claim", action: "rewards.claim" },
					{ method: "POST", path: "/api/auth/logout", action: "auth.logout" },
				],
				actions: {
					"rewards.claim": { name: "rewards.claim", openapi: { successStatus: 201, response: { type: "object", properties: { code: { type: "string" } } } } },
					"auth.logout": { name: "auth.logout", openapi: { successStatus: 204 } },
				},
			}),
		);
		expect(operation(doc, "/api/rewards/{id}/claim", "post").responses["201"]).toEqual({
			description: "Created",
			headers: { "X-Request-ID": { $ref: "#/components/headers/X-Request-ID" }, Location: { $ref: "#/components/headers/Location" } },
			content: { "application/json": { schema: { type: "object", properties: { code: { type: "string" } } } } },
		});
		expect(operation(doc, "/api/auth/logout", "post").responses["204"]).toEqual({ description: "No content", headers: { "X-Request-ID": { $ref: "#/components/headers/X-Request-ID" } } });
	});

	it("keeps operationIds unique: the action name first, then numbered, never clashing with hand-written ones", () => {
		const doc = buildOpenApiDocument(
			minimalInput({
				routes: [
					{ method: "GET", path: "/api/hunts{/:id}", action: "hunts.get" },
					{ method: "GET", path: "/api/h/:id", action: "hunts.get" },
					{ method: "GET", path: "/health/live", action: "health.live" },
				],
				actions: { "hunts.get": { name: "hunts.get", params: { id: "string|optional" } } },
				extraPaths: { "/health/ready": { get: { operationId: "health.live", responses: { "200": { description: "OK" } } } } },
			}),
		);
		const ids = [operation(doc, "/api/h/{id}", "get"), operation(doc, "/api/hunts", "get"), operation(doc, "/api/hunts/{id}", "get"), operation(doc, "/health/live", "get")].map(op => op.operationId);
		expect(ids).toEqual(["hunts.get", "hunts.get_2", "hunts.get_3", "health.live_2"]);
		// Without the optional group, the param is an ordinary (optional) query parameter.
		expect(operation(doc, "/api/hunts", "get").parameters).toEqual([{ name: "id", in: "query", required: false, schema: { type: "string" } }]);
	});

	it("tags by the action's service unless told otherwise, and lists the tags once", () => {
		const doc = buildOpenApiDocument(
			minimalInput({
				routes: [
					{ method: "GET", path: "/api/hunts/:id", action: "hunts.get" },
					{ method: "GET", path: "/api/v2/hunts", action: "v2.hunts.list" },
					{ method: "GET", path: "/api/hunts/:id/leaderboard", action: "leaderboard.get" },
				],
				actions: new Map<string, OpenApiActionInfo>([["leaderboard.get", { name: "leaderboard.get", openapi: { tags: ["hunts", "leaderboard"], summary: "Ranked players", deprecated: true } }]]),
			}),
		);
		expect(operation(doc, "/api/hunts/{id}", "get").tags).toEqual(["hunts"]);
		expect(operation(doc, "/api/v2/hunts", "get").tags).toEqual(["hunts"]);
		const board = operation(doc, "/api/hunts/{id}/leaderboard", "get");
		expect(board).toMatchObject({ tags: ["hunts", "leaderboard"], summary: "Ranked players", deprecated: true, "x-moleculer-action": "leaderboard.get" });
		expect(doc.tags).toEqual([{ name: "hunts" }, { name: "leaderboard" }]);
	});

	it("still documents a route whose action is not in the registry, saying so", () => {
		const doc = buildOpenApiDocument(minimalInput({ routes: [{ method: "GET", path: "/api/ghosts/:id", action: "ghosts.get" }] }));
		const op = operation(doc, "/api/ghosts/{id}", "get");
		expect(op.summary).toBe("ghosts.get");
		expect(op.description).toMatch(/not in the service registry/);
		expect(op.parameters).toEqual([{ name: "id", in: "path", required: true, schema: { type: "string" } }]);
	});

	it("keeps the first of two routes for the same method and path, as the gateway does", () => {
		const doc = buildOpenApiDocument(
			minimalInput({
				routes: [
					{ method: "GET", path: "/api/x", action: "first.get" },
					{ method: "GET", path: "/api/x", action: "second.get" },
				],
			}),
		);
		expect(operation(doc, "/api/x", "get")["x-moleculer-action"]).toBe("first.get");
	});

	it("merges hand-written paths over the generated ones and rejects a malformed entry", () => {
		const health = { get: { operationId: "health.ready", summary: "Readiness", responses: { "200": { description: "Ready" } } } };
		const doc = buildOpenApiDocument(
			minimalInput({
				routes: [
					{ method: "GET", path: "/api/openapi.json", action: "api.openapi" },
					{ method: "POST", path: "/api/openapi.json", action: "api.nothing" },
				],
				extraPaths: { "/health/ready": health, "/api/openapi.json": { get: { operationId: "openapi", responses: { "200": { description: "The document" } } } } },
			}),
		);
		expect(doc.paths["/health/ready"]).toEqual(health);
		expect(doc.paths["/api/openapi.json"].get).toEqual({ operationId: "openapi", responses: { "200": { description: "The document" } } });
		expect(operation(doc, "/api/openapi.json", "post")["x-moleculer-action"]).toBe("api.nothing");
		expect(() => buildOpenApiDocument(minimalInput({ extraPaths: { "/x": "nope" } }))).toThrow(/extraPaths\["\/x"\]/);
	});

	it("produces the same document whatever order the registry lists routes in", () => {
		const routes: BuildOpenApiInput["routes"] = [
			{ method: "POST", path: "/api/rewards/redeem", action: "rewards.redeem" },
			{ method: "POST", path: "/api/hunts", action: "hunts.create" },
			{ method: "GET", path: "/api/hunts/:id", action: "hunts.get" },
			{ method: "GET", path: "/api/h{/:id}", action: "hunts.get" },
			{ method: "GET", path: "/api/hunts", action: "hunts.list" },
		];
		const forward = buildOpenApiDocument(minimalInput({ routes }));
		const backward = buildOpenApiDocument(minimalInput({ routes: [...routes].reverse() }));
		expect(JSON.stringify(backward)).toBe(JSON.stringify(forward));
		expect(Object.keys(forward.paths)).toEqual(["/api/h", "/api/h/{id}", "/api/hunts", "/api/hunts/{id}", "/api/rewards/redeem"]);
		expect(forward.tags).toEqual([{ name: "hunts" }, { name: "rewards" }]);
	});
});

/** Routes and actions shaped like PRODUCT.md's REST contract. */
function lootopiaSample(): BuildOpenApiInput {
	const userSchema: JsonSchema = {
		type: "object",
		required: ["id", "email", "displayName"],
		properties: { id: { type: "string", format: "uuid" }, email: { type: "string", format: "email" }, displayName: { type: "string" } },
	};
	const actions: Record<string, OpenApiActionInfo> = {
		"auth.register": {
			name: "auth.register",
			params: { $$strict: true, email: "email|max:254", password: "string|min:12|max:128", displayName: "string|min:3|max:64|trim" },
			openapi: {
				summary: "Create an account",
				successStatus: 201,
				response: {
					type: "object",
					required: ["user", "accessToken", "refreshToken"],
					properties: { user: userSchema, accessToken: { type: "string" }, refreshToken: { type: "string" } },
				},
				responses: { "409": { description: "The email is already registered" } },
			},
		},
		"hunts.get": { name: "hunts.get", params: { id: "uuid" }, openapi: { summary: "A hunt: public view, or full view for its partner's members" } },
		"hunts.search": {
			name: "hunts.search",
			params: {
				lat: { type: "number", min: -90, max: 90, convert: true, optional: true },
				lon: { type: "number", min: -180, max: 180, convert: true, optional: true },
				radius: { type: "number", positive: true, max: 50000, convert: true, default: 5000 },
				q: "string|optional|max:100",
				tags: { type: "array", items: "string", optional: true, convert: true },
				visibility: { type: "enum", values: ["public"], optional: true },
				createdAfter: { type: "date", convert: true, optional: true },
			},
			openapi: { summary: "Published public hunts near a point and/or matching text, nearest first", response: { type: "array", items: { type: "object" } } },
		},
		"rewards.claim": {
			name: "rewards.claim",
			params: { id: "uuid", note: { type: "string", optional: true, nullable: true } },
			openapi: {
				security: "bearer",
				successStatus: 201,
				response: { type: "object", required: ["code"], properties: { code: { type: "string" } } },
				responses: { "409": { description: "No reward left" } },
			},
		},
		"participations.report": {
			name: "participations.report",
			params: {
				id: "uuid",
				fix: { $$type: "object", lat: "number|min:-90|max:90", lon: "number|min:-180|max:180", accuracy: "number|positive", recordedAt: { type: "date", convert: true } },
				clue: ["uuid", "number|integer"],
				extra: { type: "geo-magic" },
			},
			openapi: { security: "bearer" },
		},
	};
	return {
		info: { title: "Lootopia API", version: "0.1.0", description: "Location-based treasure hunts" },
		servers: [{ url: "http://localhost:3000" }],
		routes: [
			{ method: "POST", path: "/api/auth/register", action: "auth.register" },
			{ method: "GET", path: "/api/hunts/:id", action: "hunts.get" },
			{ method: "GET", path: "/api/hunts", action: "hunts.search" },
			{ method: "POST", path: "/api/rewards/:id/claim", action: "rewards.claim" },
			{ method: "POST", path: "/api/participations/:id/locations", action: "participations.report" },
			{ method: "GET", path: "/api/x{/:id}", action: "hunts.get" },
		],
		actions,
		extraPaths: {
			"/health/live": {
				get: {
					operationId: "health.live",
					tags: ["health"],
					summary: "Liveness",
					responses: { "200": { description: "Alive" }, "503": { description: "Not alive", content: { "application/json": { schema: { $ref: ERROR_RESPONSE_SCHEMA_REF } } } } },
				},
			},
		},
	};
}

describe("the generated document is valid OpenAPI 3.1", () => {
	it("validates a realistic Lootopia sample", async () => {
		const doc = buildOpenApiDocument(lootopiaSample());
		const result = await validateDocument(doc);
		expect(result.errors).toBeUndefined();
		expect(result.valid).toBe(true);
		expect(schemasIn(doc).length).toBeGreaterThan(20);
		expect(schemaProblems(doc)).toEqual([]);

		expect(doc.openapi).toBe("3.1.0");
		expect(Object.keys(doc.paths)).toEqual([
			"/api/auth/register",
			"/api/hunts",
			"/api/hunts/{id}",
			"/api/participations/{id}/locations",
			"/api/rewards/{id}/claim",
			"/api/x",
			"/api/x/{id}",
			"/health/live",
		]);
		const search = operation(doc, "/api/hunts", "get");
		expect(search.parameters?.map(p => [p.name, p.required])).toEqual([
			["lat", false],
			["lon", false],
			["radius", false],
			["q", false],
			["tags", false],
			["visibility", false],
			["createdAfter", false],
		]);
		expect(search.parameters?.find(p => p.name === "radius")?.schema).toEqual({ type: "number", exclusiveMinimum: 0, maximum: 50000, default: 5000 });
		expect(bodySchemaOf(operation(doc, "/api/auth/register", "post")).required).toEqual(["email", "password", "displayName"]);
		expect(Object.keys(operation(doc, "/api/rewards/{id}/claim", "post").responses)).toContain("409");
	});

	it("fails a broken document, so the check above can fail", async () => {
		const doc = buildOpenApiDocument(lootopiaSample());
		// OpenAPI requires path parameters to be required; a 'body' location does not exist in 3.x.
		const broken = JSON.parse(JSON.stringify(doc)) as OpenApiDocument;
		const params = operation(broken, "/api/hunts/{id}", "get").parameters ?? [];
		Object.assign(params[0], { required: false, in: "body" });
		const result = await validateDocument(broken);
		expect(result.valid).toBe(false);

		const { info: _info, ...noInfo } = doc;
		expect((await validateDocument(noInfo)).valid).toBe(false);
	});

	it("fails a document holding a schema that is not JSON Schema, which only the Ajv check catches", async () => {
		const doc = buildOpenApiDocument(lootopiaSample());
		const broken = JSON.parse(JSON.stringify(doc)) as OpenApiDocument;
		Object.assign(bodySchemaOf(operation(broken, "/api/auth/register", "post")).properties?.email ?? {}, { type: "email" });
		expect((await validateDocument(broken)).valid).toBe(true);
		expect(schemaProblems(broken)).toEqual([expect.stringMatching(/^POST \/api\/auth\/register body application\/json: schema is invalid/)]);
	});

	it("produces only strict JSON Schema from every rule the converter knows", async () => {
		const everyRule: Record<string, unknown> = {
			s: { type: "string", min: 1, max: 9, pattern: /^a/i, alpha: true, contains: "a", enum: ["a"], nullable: true, label: "S" },
			n: { type: "number", integer: true, positive: true, negative: true, equal: 1, notEqual: 2, convert: true, default: 1 },
			b: "boolean|convert",
			o: { type: "object", strict: "remove", minProps: 1, props: { x: "string" } },
			a: { type: "array", items: "string", min: 1, max: 2, unique: true, enum: ["a"], contains: "a", convert: true },
			t: { type: "tuple", items: ["number", "string"] },
			r: { type: "record", key: "string", value: "number" },
			e: { type: "enum", values: [1, 2], nullable: true },
			q: { type: "equal", value: "x", field: "y", nullable: true },
			d: { type: "date", convert: true },
			m: ["email", "url", "uuid|version:4", "objectID", "mac", "luhn", "currency", "any", "forbidden"],
			c: { type: "custom" },
			u: { type: "unknown-rule" },
		};
		const doc = buildOpenApiDocument(
			minimalInput({
				routes: [
					{ method: "POST", path: "/x", action: "x.all" },
					{ method: "GET", path: "/x", action: "x.all" },
				],
				actions: { "x.all": { name: "x.all", params: everyRule } },
			}),
		);
		expect(schemaProblems(doc)).toEqual([]);
		expect((await validateDocument(doc)).valid).toBe(true);
	});
});

describe("docs page", () => {
	const page = renderDocsPage({ specUrl: "/api/openapi.json", assetsBase: "/api/docs/assets/", title: "Lootopia <API>" });

	it("loads Swagger UI from the assets base with no inline script or style (strict CSP)", () => {
		expect(page).toContain('<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">');
		const scripts = page.match(/<script\b[^>]*>[\s\S]*?<\/script>/g) ?? [];
		expect(scripts).toEqual(['<script src="/api/docs/assets/swagger-ui-bundle.js"></script>', `<script src="/api/docs/assets/${DOCS_INITIALIZER_FILE}"></script>`]);
		expect(page).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
	});

	it("escapes the title and links the raw document for readers without JavaScript", () => {
		expect(page).toContain("<title>Lootopia &lt;API&gt;</title>");
		expect(page).toContain('<a href="/api/openapi.json">');
	});

	it("has an initializer that starts Swagger UI on the spec URL once the page has loaded", () => {
		const script = renderDocsInitializer('/api/openapi.json?v="1"</script>');
		let onLoad: (() => void) | undefined;
		const calls: Record<string, unknown>[] = [];
		const SwaggerUIBundle = Object.assign((config: Record<string, unknown>) => calls.push(config), { presets: { apis: "apis-preset" } });
		const window: Record<string, unknown> = {
			addEventListener: (event: string, listener: () => void) => {
				if (event === "load") onLoad = listener;
			},
		};
		vm.runInNewContext(script, { window, SwaggerUIBundle });
		expect(calls).toHaveLength(0);
		onLoad?.();
		expect(calls).toEqual([{ url: '/api/openapi.json?v="1"</script>', dom_id: "#swagger-ui", deepLinking: true, presets: ["apis-preset"], layout: "BaseLayout" }]);
		expect(script).not.toContain("</script>");
	});

	it("points at the installed swagger-ui-dist folder", () => {
		expect(path.isAbsolute(swaggerUiAssetsDir)).toBe(true);
		expect(fs.existsSync(path.join(swaggerUiAssetsDir, "swagger-ui-bundle.js"))).toBe(true);
		expect(fs.existsSync(path.join(swaggerUiAssetsDir, "swagger-ui.css"))).toBe(true);
	});
});
