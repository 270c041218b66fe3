/**
 * JSON Schemas of the identity contract's results, for the OpenAPI document (the TypeScript types
 * in identity.ts are what code uses; these describe the same shapes to clients).
 */
import type { JsonSchema } from "../platform/http/openapi";

const isoDate: JsonSchema = { type: "string", format: "date-time" };
const partnersMap: JsonSchema = { type: "object", additionalProperties: { type: "string", enum: ["owner", "editor"] }, description: "Partner id → role in that partner" };

export const ACCOUNT_SCHEMA: JsonSchema = {
	type: "object",
	required: ["id", "email", "displayName", "roles", "partners", "createdAt"],
	properties: {
		id: { type: "string", format: "uuid" },
		email: { type: "string", format: "email" },
		displayName: { type: "string" },
		roles: { type: "array", items: { type: "string", enum: ["player", "admin"] } },
		partners: partnersMap,
		createdAt: isoDate,
	},
};

export const AUTH_RESULT_SCHEMA: JsonSchema = {
	type: "object",
	required: ["user", "accessToken", "expiresIn", "refreshToken", "tokenType"],
	properties: {
		user: ACCOUNT_SCHEMA,
		accessToken: { type: "string", description: "JWT (EdDSA); send as `Authorization: Bearer <token>`" },
		expiresIn: { type: "integer", description: "Seconds until the access token expires" },
		refreshToken: { type: "string", description: "Opaque; single use: each refresh returns a new one" },
		tokenType: { type: "string", const: "Bearer" },
	},
};

export const PROFILE_SCHEMA: JsonSchema = {
	type: "object",
	required: ["id", "displayName", "avatarUrl", "locale", "createdAt", "updatedAt"],
	properties: {
		id: { type: "string", format: "uuid" },
		displayName: { type: "string" },
		avatarUrl: { type: ["string", "null"], format: "uri" },
		locale: { type: "string" },
		createdAt: isoDate,
		updatedAt: isoDate,
	},
};

export const PUBLIC_PROFILE_SCHEMA: JsonSchema = {
	type: "object",
	required: ["id", "displayName", "avatarUrl"],
	properties: { id: { type: "string", format: "uuid" }, displayName: { type: "string" }, avatarUrl: { type: ["string", "null"], format: "uri" } },
};

const partnerPublicProperties: Record<string, JsonSchema> = {
	id: { type: "string", format: "uuid" },
	name: { type: "string" },
	website: { type: ["string", "null"] },
	status: { type: "string", enum: ["pending", "verified", "suspended"] },
};

/**
 * Exactly these four fields: nothing more, so a members' view (which has `members`) never also
 * matches the public branch of GET /api/partners/:id's `oneOf`.
 */
export const PARTNER_PUBLIC_SCHEMA: JsonSchema = { type: "object", required: ["id", "name", "website", "status"], properties: partnerPublicProperties, additionalProperties: false };

export const PARTNER_MEMBER_SCHEMA: JsonSchema = {
	type: "object",
	required: ["userId", "role", "addedAt"],
	properties: { userId: { type: "string", format: "uuid" }, role: { type: "string", enum: ["owner", "editor"] }, addedAt: isoDate },
};

export const PARTNER_SCHEMA: JsonSchema = {
	type: "object",
	required: ["id", "name", "website", "status", "description", "contactEmail", "createdAt", "statusReason", "members"],
	properties: {
		...partnerPublicProperties,
		description: { type: ["string", "null"] },
		contactEmail: { type: ["string", "null"] },
		createdAt: isoDate,
		statusReason: { type: ["string", "null"] },
		members: { type: "array", items: PARTNER_MEMBER_SCHEMA },
	},
};

export const JWKS_SCHEMA: JsonSchema = {
	type: "object",
	required: ["keys"],
	properties: {
		keys: {
			type: "array",
			items: { type: "object", required: ["kid", "kty"], properties: { kid: { type: "string" }, kty: { type: "string" }, crv: { type: "string" }, x: { type: "string" }, alg: { type: "string" } } },
		},
	},
};
