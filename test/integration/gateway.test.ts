/**
 * The gateway through real HTTP on the node `npm start` builds: every failure gets the documented
 * envelope and status, nothing leaks, and the health and documentation endpoints work.
 */
import type { ServiceSchema } from "moleculer";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { AppError } from "../../platform/errors/app-error";
import { eventually, startTestNode, TestNode } from "../support/node";

/** How often the echo handler ran: OPTIONS, 405s and 415s must never reach it. */
let echoCalls = 0;

const echoService: ServiceSchema = {
	name: "echo",
	settings: { rest: "/echo" },
	actions: {
		create: {
			rest: "POST /",
			params: { name: "string|min:3|max:40", count: { type: "number", integer: true, positive: true } },
			openapi: { summary: "Echo for tests", successStatus: 201 },
			handler(ctx) {
				echoCalls++;
				ctx.meta.$statusCode = 201;
				return { ...ctx.params };
			},
		},
		conflict: {
			rest: "POST /conflict",
			handler() {
				throw new AppError("CONFLICT", "That name is taken", { name: "x" });
			},
		},
		crash: {
			rest: "GET /crash",
			handler() {
				throw new TypeError("Cannot read 'password' of undefined at /srv/secret.js:12");
			},
		},
	},
};

let node: TestNode;

async function request(path: string, init: RequestInit = {}) {
	const res = await fetch(`${node.baseUrl}${path}`, init);
	const text = await res.text();
	let body: any;
	try {
		body = JSON.parse(text);
	} catch {
		body = text;
	}
	return { status: res.status, headers: res.headers, body, text };
}

const postJson = (path: string, body: string, headers: Record<string, string> = {}) => request(path, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body });

beforeAll(async () => {
	node = await startTestNode({ BODY_LIMIT: "1kb", CORS_ORIGINS: "https://play.lootopia.example" });
	node.broker.createService(echoService);
	await eventually(async () => {
		const res = await postJson("/api/echo", JSON.stringify({ name: "abc", count: 1 }));
		if (res.status !== 201) throw new Error(`echo not routed yet: ${res.status}`);
	});
});

afterAll(async () => {
	await node?.stop();
});

function expectEnvelope(body: any, code: string) {
	expect(body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
	expect(JSON.stringify(body)).not.toMatch(/stack|at \/|\.js:\d+/);
}

describe("health", () => {
	it("answers liveness", async () => {
		const res = await request("/health/live");
		expect(res.status).toBe(200);
		expect(res.body.status).toBe("up");
	});

	it("reports each backend of the embedded node as up", async () => {
		const res = await request("/health/ready");
		expect(res.status).toBe(200);
		expect(res.body.status).toBe("up");
		// The store appears once something uses it: the gateway's rate limiter does from the start.
		expect(Object.keys(res.body.backends).sort()).toEqual(["broker", "cache", "channels", "database", "store"]);
		for (const backend of Object.values<any>(res.body.backends)) expect(backend.status).toBe("up");
	});

	it("reports not ready, naming what is missing, when the gateway lost its API routes", async () => {
		// The service's own method, as the removed `api.removeRoute` action would have called it.
		const api = node.broker.getLocalService("api") as unknown as { removeRoute(path: string): void; addRoute(route: unknown): void; routes: Array<{ path: string; opts: unknown }> };
		const removed = api.routes.find(route => route.path === "/api")!;
		api.removeRoute("/api");
		try {
			const res = await request("/health/ready");
			expect(res.status).toBe(503);
			expect(res.body).toMatchObject({ status: "down", gateway: "down" });
			expect(res.body.missingRoutes).toEqual(expect.arrayContaining(["/api", "system.ping"]));
		} finally {
			api.addRoute(removed.opts);
		}
		expect((await request("/health/ready")).status).toBe(200);
	});
});

describe("error envelope", () => {
	it("rejects malformed JSON with 400 and changes nothing", async () => {
		const res = await postJson("/api/echo", '{"name": "abc", ');
		expect(res.status).toBe(400);
		expectEnvelope(res.body, "MALFORMED_JSON");
	});

	it("rejects invalid parameters with 422 naming the failing fields", async () => {
		const res = await postJson("/api/echo", JSON.stringify({ name: "ab", count: -2 }));
		expect(res.status).toBe(422);
		expectEnvelope(res.body, "VALIDATION_FAILED");
		expect(res.body.error.details.map((d: any) => d.field).sort()).toEqual(["count", "name"]);
	});

	it("answers an unknown route with 404 in the envelope", async () => {
		const res = await request("/api/no-such-thing");
		expect(res.status).toBe(404);
		expectEnvelope(res.body, "ROUTE_NOT_FOUND");
		const outside = await request("/wp-login.php");
		expect(outside.status).toBe(404);
		expectEnvelope(outside.body, "ROUTE_NOT_FOUND");
	});

	it("rejects an oversized body with 413", async () => {
		const res = await postJson("/api/echo", JSON.stringify({ name: "x".repeat(5000), count: 1 }));
		expect(res.status).toBe(413);
		expectEnvelope(res.body, "PAYLOAD_TOO_LARGE");
	});

	it("passes a service's own error code through with its status", async () => {
		const res = await postJson("/api/echo/conflict", "{}");
		expect(res.status).toBe(409);
		expect(res.body).toEqual({ error: { code: "CONFLICT", message: "That name is taken", details: { name: "x" } } });
	});

	it("turns an unexpected failure into a 500 without internals", async () => {
		const res = await request("/api/echo/crash");
		expect(res.status).toBe(500);
		expectEnvelope(res.body, "INTERNAL_ERROR");
		expect(res.text).not.toMatch(/password|secret/);
	});
});

describe("HTTP semantics", () => {
	it("answers HEAD wherever GET works, with GET's status and headers and no body", async () => {
		const head = await request("/api/ping", { method: "HEAD" });
		expect(head.status).toBe(200);
		expect(head.text).toBe("");
		expect(head.headers.get("content-type")).toContain("application/json");
	});

	it("answers a method the path does not serve with 405 and Allow, without running a handler", async () => {
		const before = echoCalls;
		const res = await request("/api/echo", { method: "PUT", headers: { "Content-Type": "application/json" }, body: "{}" });
		expect(res.status).toBe(405);
		expectEnvelope(res.body, "METHOD_NOT_ALLOWED");
		expect(res.headers.get("allow")).toBe("OPTIONS, POST");
		expect((await request("/api/ping", { method: "DELETE" })).headers.get("allow")).toBe("GET, HEAD, OPTIONS");
		// A path nothing serves stays a 404.
		expect((await request("/api/nowhere", { method: "DELETE" })).status).toBe(404);
		expect(echoCalls).toBe(before);
	});

	it("answers OPTIONS with the allowed methods and never runs the handler", async () => {
		const before = echoCalls;
		const res = await request("/api/echo", { method: "OPTIONS" });
		expect(res.status).toBe(204);
		expect(res.headers.get("allow")).toBe("OPTIONS, POST");
		expect(echoCalls).toBe(before);
	});

	it("refuses a body that is not JSON with 415 instead of reading it as no parameters", async () => {
		const before = echoCalls;
		for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
			const res = await request("/api/echo", { method: "POST", headers: { "Content-Type": contentType }, body: "name=abc&count=1" });
			expect(res.status).toBe(415);
			expectEnvelope(res.body, "UNSUPPORTED_MEDIA_TYPE");
		}
		const untyped = await fetch(`${node.baseUrl}/api/echo`, { method: "POST", body: new Uint8Array(Buffer.from('{"name":"abc","count":1}')) });
		expect(untyped.status).toBe(415);
		expect(echoCalls).toBe(before);
		expect((await postJson("/api/echo", JSON.stringify({ name: "abc", count: 1 }), { "Content-Type": "application/json; charset=utf-8" })).status).toBe(201);
	});

	it("answers an over-long URL with 414 and oversized headers with 431, both in the envelope", async () => {
		const longUrl = await request(`/api/ping?q=${"a".repeat(9_000)}`);
		expect(longUrl.status).toBe(414);
		expectEnvelope(longUrl.body, "URI_TOO_LONG");
		const bigHeaders = await request("/api/ping", { headers: { "X-Padding": "a".repeat(20_000) } });
		expect(bigHeaders.status).toBe(431);
		expectEnvelope(bigHeaders.body, "HEADERS_TOO_LARGE");
	});
});

describe("headers", () => {
	it("returns a request id, keeping a safe client id and replacing an unsafe one", async () => {
		const generated = await request("/api/ping");
		expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
		const kept = await request("/api/ping", { headers: { "X-Request-ID": "mobile-7f3a9c21" } });
		expect(kept.headers.get("x-request-id")).toBe("mobile-7f3a9c21");
		const replaced = await request("/api/ping", { headers: { "X-Request-ID": "<script>alert(1)</script>" } });
		expect(replaced.headers.get("x-request-id")).not.toContain("script");
		const onError = await request("/api/no-such-thing", { headers: { "X-Request-ID": "mobile-7f3a9c22" } });
		expect(onError.headers.get("x-request-id")).toBe("mobile-7f3a9c22");
	});

	it("sets security headers on success and on errors", async () => {
		for (const path of ["/api/ping", "/api/no-such-thing"]) {
			const res = await request(path);
			expect(res.headers.get("x-content-type-options")).toBe("nosniff");
			expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
			expect(res.headers.get("x-powered-by")).toBeNull();
		}
	});

	it("allows the configured origin and no other", async () => {
		const preflight = await request("/api/echo", { method: "OPTIONS", headers: { Origin: "https://play.lootopia.example", "Access-Control-Request-Method": "POST" } });
		expect(preflight.status).toBe(204);
		expect(preflight.headers.get("access-control-allow-origin")).toBe("https://play.lootopia.example");
		const foreign = await request("/api/ping", { headers: { Origin: "https://evil.example" } });
		expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
	});
});

describe("documentation", () => {
	it("serves a valid OpenAPI 3 document covering the routes", async () => {
		const res = await request("/api/openapi.json");
		expect(res.status).toBe(200);
		// The validator ships as ESM only.
		const { Validator } = await import("@seriousme/openapi-schema-validator");
		const validation = await new Validator().validate(res.body);
		expect(validation.errors ?? []).toEqual([]);
		expect(validation.valid).toBe(true);
		expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(["/health/live", "/health/ready", "/api/ping", "/api/echo"]));
		expect(res.body.paths["/api/echo"].post.responses["422"]).toBeDefined();
	});

	it("passes Redocly's recommended OpenAPI rules: no error, and no warning beyond the probes and docs having no 4xx", async () => {
		const doc = (await request("/api/openapi.json")).body;
		const config = await createConfig({ extends: ["recommended"] });
		const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: "/api/openapi.json", config });
		// This file's own test service ("echo") has no tag description; every real service's tag does.
		const echoTag = `#/tags/${(doc.tags as Array<{ name: string }>).findIndex(tag => tag.name === "echo")}/description`;
		const described = problems.map(p => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ""}`).filter(line => line !== `warn tag-description ${echoTag}`);
		expect(described.filter(line => line.startsWith("error"))).toEqual([]);
		// Liveness, readiness and the documentation itself answer nothing a client could get wrong; a
		// WebSocket upgrade succeeds with 101, which is not a 2xx.
		expect(described.filter(line => line.startsWith("warn")).sort()).toEqual(
			[
				...["/api~1asyncapi.json", "/api~1docs", "/api~1docs~1events", "/api~1openapi.json", "/health~1live", "/health~1ready"].map(
					path => `warn operation-4xx-response #/paths/~1${path.slice(1)}/get/responses`,
				),
				"warn operation-2xx-response #/paths/~1api~1notifications~1ws/get/responses",
			].sort(),
		);
	});

	it("serves a docs page whose assets load", async () => {
		const page = await request("/api/docs");
		expect(page.status).toBe(200);
		expect(page.headers.get("content-type")).toContain("text/html");
		const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map(m => m[1]).filter(u => u.startsWith("/"));
		expect(assets.length).toBeGreaterThanOrEqual(2);
		for (const asset of assets) expect((await fetch(`${node.baseUrl}${asset}`)).status).toBe(200);
		expect((await request("/api/docs/assets/..%2F..%2Fpackage.json")).status).toBe(404);
	});
});
