/**
 * The shapes of the OpenAPI 3.1 document and of what the gateway hands the builder.
 */
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
	access?: string | { partner: string };
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
