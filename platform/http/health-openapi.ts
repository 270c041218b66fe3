/** Hand-written OpenAPI entries for the gateway's own endpoints, which are not actions. */
export function healthPaths(): Record<string, unknown> {
	const backend = {
		type: "object",
		required: ["status", "target", "latencyMs"],
		properties: {
			status: { type: "string", enum: ["up", "down"] },
			target: { type: "string", description: "What the node talks to, credentials removed" },
			latencyMs: { type: "integer" },
			error: { type: "string" },
		},
	};
	const readiness = {
		type: "object",
		required: ["status", "nodeID", "backends", "gateway"],
		properties: {
			status: { type: "string", enum: ["up", "down"] },
			nodeID: { type: "string" },
			gateway: { type: "string", enum: ["up", "down"], description: "down until the gateway has built its routes" },
			backends: { type: "object", additionalProperties: backend, description: "database, cache, transporter, channels, store — whichever this node uses" },
		},
	};
	return {
		"/health/live": {
			get: {
				operationId: "health.live",
				tags: ["health"],
				summary: "Liveness: the process answers",
				security: [],
				responses: {
					"200": {
						description: "Alive",
						content: {
							"application/json": {
								schema: { type: "object", required: ["status"], properties: { status: { type: "string", enum: ["up"] }, nodeID: { type: "string" }, uptimeSeconds: { type: "integer" } } },
							},
						},
					},
				},
			},
		},
		"/health/ready": {
			get: {
				operationId: "health.ready",
				tags: ["health"],
				summary: "Readiness: every backend this node depends on answers",
				security: [],
				responses: {
					"200": { description: "Ready to serve", content: { "application/json": { schema: readiness } } },
					"503": { description: "A backend is down or routes are not built yet", content: { "application/json": { schema: readiness } } },
				},
			},
		},
		"/api/openapi.json": {
			get: {
				operationId: "docs.openapi",
				tags: ["docs"],
				summary: "This OpenAPI 3.1 document",
				security: [],
				responses: { "200": { description: "The document", content: { "application/json": { schema: { type: "object" } } } } },
			},
		},
		"/api/docs": {
			get: {
				operationId: "docs.page",
				tags: ["docs"],
				summary: "A page rendering this document",
				security: [],
				responses: { "200": { description: "HTML page", content: { "text/html": { schema: { type: "string" } } } } },
			},
		},
		"/api/asyncapi.json": {
			get: {
				operationId: "docs.asyncapi",
				tags: ["docs"],
				summary: "The event catalogue: an AsyncAPI 3 document of every broker event and durable channel",
				security: [],
				responses: { "200": { description: "The document", content: { "application/json": { schema: { type: "object" } } } } },
			},
		},
		"/api/docs/events": {
			get: {
				operationId: "docs.events",
				tags: ["docs"],
				summary: "A page rendering the event catalogue",
				security: [],
				responses: { "200": { description: "HTML page", content: { "text/html": { schema: { type: "string" } } } } },
			},
		},
	};
}
