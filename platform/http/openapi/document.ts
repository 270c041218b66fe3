/**
 * Assembles the document: one operation per alias and method, shared components for the errors and
 * headers every operation may answer with.
 */
import { isPlainObject } from "../../objects";
import { convertActionParams, strictness, type ConvertedParams, type ConvertedRule } from "./param-rules";
import { expandRoutePath, type PathVariant } from "./route-paths";
import {
	ERROR_RESPONSE_SCHEMA_REF,
	type ActionOpenApiMeta,
	type BuildOpenApiInput,
	type HttpMethod,
	type JsonSchema,
	type OpenApiActionInfo,
	type OpenApiDocument,
	type OpenApiMediaType,
	type OpenApiOperation,
	type OpenApiParameter,
	type OpenApiPathItem,
	type OpenApiRequestBody,
	type OpenApiResponse,
	type OpenApiResponseOrRef,
	type OpenApiRoute,
} from "./types";

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
	return Object.values(paths).flatMap(item => (isPlainObject(item) ? Object.values(item).flatMap(op => (isPlainObject(op) && typeof op.operationId === "string" ? [op.operationId] : [])) : []));
}

export function buildOpenApiDocument(input: BuildOpenApiInput): OpenApiDocument {
	const extraPaths = input.extraPaths ?? {};
	const usedOperationIds = new Set(operationIdsIn(extraPaths));
	const paths: Record<string, OpenApiPathItem> = {};
	const tagOrder: string[] = [];

	// Sorted so operationId numbering and tag order do not depend on the order the registry listed
	// the aliases in; the sort is stable, so two aliases for the same method and path keep theirs.
	const routes = [...input.routes].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) || METHOD_ORDER.indexOf(a.method) - METHOD_ORDER.indexOf(b.method));
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
