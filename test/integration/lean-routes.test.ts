/**
 * The lean route (platform/http/lean-gateway.ts) answers exactly as moleculer-web's own routing:
 * the same battery of requests, good and bad, sent to a node with it and to a node whose server
 * runs moleculer-web's own, unmodified `httpHandler`, gets the same statuses, headers and bodies.
 * And it is really taken: moleculer-web's route handler never runs for a fixed-path action on the
 * lean node, and always does with GATEWAY_LEAN_ROUTES=false.
 */
import http from "node:http";
import type { Service } from "moleculer";
import ApiGateway from "moleculer-web";
import { startTestNode, TestNode } from "../support/node";

interface RawResponse {
	status: number;
	headers: http.IncomingHttpHeaders;
	text: string;
}

interface RawRequest {
	method: string;
	path: string;
	headers?: Record<string, string>;
	body?: string;
}

function send(baseUrl: string, { method, path, headers = {}, body }: RawRequest): Promise<RawResponse> {
	const url = new URL(baseUrl);
	return new Promise((resolve, reject) => {
		const req = http.request(
			{ host: url.hostname, port: url.port, method, path, headers: { ...headers, ...(body !== undefined ? { "Content-Length": String(Buffer.byteLength(body)) } : {}) } },
			res => {
				const chunks: Buffer[] = [];
				res.on("data", chunk => chunks.push(chunk));
				res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
				res.on("error", reject);
			},
		);
		req.on("error", reject);
		req.end(body);
	});
}

const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TOKEN = /eyJ[\w-]+\.[\w-]+\.[\w-]+|"refreshToken":"[^"]+"/g;

/** What may differ between two nodes answering the same request: the clock and generated ids. */
function comparable(res: RawResponse) {
	const headers = { ...res.headers };
	delete headers.date;
	if (typeof headers["x-request-id"] === "string") headers["x-request-id"] = headers["x-request-id"].replace(UUID, "<uuid>");
	if (typeof headers.location === "string") headers.location = headers.location.replace(UUID, "<uuid>");
	return { status: res.status, headers, text: res.text.replace(ISO_TIME, "<time>").replace(UUID, "<uuid>").replace(TOKEN, "<token>") };
}

const ORIGIN = "https://play.lootopia.example";
const json = { "Content-Type": "application/json" };

const battery: Array<[string, RawRequest]> = [
	["a trivial GET", { method: "GET", path: "/api/ping" }],
	["HEAD", { method: "HEAD", path: "/api/ping" }],
	["a trailing slash", { method: "GET", path: "/api/ping/" }],
	["another letter case", { method: "GET", path: "/API/Ping" }],
	["a query string", { method: "GET", path: "/api/ping?x=1&x=2&a[b]=c" }],
	["a conditional GET on any version", { method: "GET", path: "/api/ping", headers: { "If-None-Match": "*" } }],
	["a conditional GET on a date", { method: "GET", path: "/api/ping", headers: { "If-Modified-Since": "Wed, 21 Oct 2015 07:28:00 GMT" } }],
	[
		"a registration (201 with a Location)",
		{ method: "POST", path: "/api/auth/register", headers: json, body: '{"email":"lean-route@example.com","password":"correct horse battery","displayName":"Lean Route"}' },
	],
	[
		"the same registration again",
		{ method: "POST", path: "/api/auth/register", headers: json, body: '{"email":"lean-route@example.com","password":"correct horse battery","displayName":"Lean Route"}' },
	],
	["a method the path does not take", { method: "POST", path: "/api/ping", headers: json, body: "{}" }],
	["OPTIONS without CORS", { method: "OPTIONS", path: "/api/ping" }],
	["a CORS preflight", { method: "OPTIONS", path: "/api/auth/login", headers: { Origin: ORIGIN, "Access-Control-Request-Method": "POST" } }],
	["an allowed origin", { method: "GET", path: "/api/ping", headers: { Origin: ORIGIN } }],
	["a foreign origin", { method: "GET", path: "/api/ping", headers: { Origin: "https://evil.example" } }],
	["a client's request id", { method: "GET", path: "/api/ping", headers: { "X-Request-ID": "client-chosen-id-42" } }],
	["an unsafe request id", { method: "GET", path: "/api/ping", headers: { "X-Request-ID": "<script>" } }],
	["a broken token on a public route", { method: "GET", path: "/api/ping", headers: { Authorization: "Bearer not.a.token" } }],
	["a GET with a JSON body", { method: "GET", path: "/api/ping", headers: json, body: '{"a":1}' }],
	["a GET with a non-JSON body", { method: "GET", path: "/api/ping", headers: { "Content-Type": "text/plain" }, body: "hello" }],
	["an over-long URL", { method: "GET", path: `/api/ping?q=${"x".repeat(9000)}` }],
	["a guarded route without a token", { method: "GET", path: "/api/users/me" }],
	["a guarded route with a broken token", { method: "GET", path: "/api/users/me", headers: { Authorization: "Bearer not.a.token" } }],
	["a guarded route with another scheme", { method: "GET", path: "/api/auth/me", headers: { Authorization: "Basic dXNlcjpwYXNz" } }],
	["wrong credentials", { method: "POST", path: "/api/auth/login", headers: json, body: '{"email":"nobody@example.com","password":"wrong password 1"}' }],
	["invalid JSON", { method: "POST", path: "/api/auth/login", headers: json, body: '{"email":' }],
	["JSON that is not an object", { method: "POST", path: "/api/auth/login", headers: json, body: "[1,2]" }],
	["a body that is not JSON", { method: "POST", path: "/api/auth/login", headers: { "Content-Type": "text/plain" }, body: "email=a" }],
	["no body", { method: "POST", path: "/api/auth/login" }],
	["a body over the limit", { method: "POST", path: "/api/auth/login", headers: json, body: JSON.stringify({ email: "a@b.c", password: "x".repeat(2000) }) }],
	["nesting too deep", { method: "POST", path: "/api/auth/login", headers: json, body: `${"[".repeat(40)}${"]".repeat(40)}` }],
	["a NUL character", { method: "POST", path: "/api/auth/login", headers: json, body: '{"email":"a\\u0000@b.c","password":"whatever 123"}' }],
	["a secret in the URL", { method: "POST", path: "/api/auth/login?password=hunter22", headers: json, body: '{"email":"a@b.c"}' }],
	["a query that fails validation", { method: "GET", path: "/api/hunts?limit=abc" }],
	["a listing", { method: "GET", path: "/api/hunts?limit=2" }],
	["a path with a parameter", { method: "GET", path: "/api/hunts/not-a-hunt" }],
	["an unknown path", { method: "GET", path: "/api/nothing-here" }],
	["a documentation page", { method: "GET", path: "/api/openapi.json" }],
	["an admin route without a token", { method: "GET", path: "/api/admin/audit" }],
	["a path parameter that does not decode", { method: "GET", path: "/api/hunts/%E0%A4" }],
	["a lone percent sign", { method: "GET", path: "/api/users/%" }],
	["a doubled slash", { method: "GET", path: "/api//ping" }],
	["an encoded fixed path", { method: "GET", path: "/api/%70ing" }],
];

let lean: TestNode;
/** Its server runs moleculer-web's own httpHandler: nothing of lean-gateway.ts before routing. */
let stock: TestNode;
/** Ours, with GATEWAY_LEAN_ROUTES=false. */
let switchedOff: TestNode;
const routeHandlerRuns = new Map<TestNode, jest.SpyInstance>();

type Gateway = Service & { routeHandler: (...args: unknown[]) => unknown; server: http.Server };
const stockHttpHandler = (ApiGateway as unknown as { methods: { httpHandler: (this: Gateway, req: http.IncomingMessage, res: http.ServerResponse) => unknown } }).methods.httpHandler;

beforeAll(async () => {
	const env = { BODY_LIMIT: "1kb", CORS_ORIGINS: ORIGIN, RATE_LIMIT_PER_MINUTE: "100000" };
	[lean, stock, switchedOff] = await Promise.all([
		startTestNode({ ...env, GATEWAY_LEAN_ROUTES: "true" }),
		startTestNode({ ...env, GATEWAY_LEAN_ROUTES: "false" }),
		startTestNode({ ...env, GATEWAY_LEAN_ROUTES: "false" }),
	]);
	const stockGateway = stock.broker.getLocalService("api") as Gateway;
	stockGateway.server.removeAllListeners("request");
	stockGateway.server.on("request", (req, res) => stockHttpHandler.call(stockGateway, req, res));
	for (const node of [lean, switchedOff]) routeHandlerRuns.set(node, jest.spyOn(node.broker.getLocalService("api") as Gateway, "routeHandler"));
}, 120_000);

afterAll(async () => {
	await Promise.all([lean?.stop(), stock?.stop(), switchedOff?.stop()]);
});

describe.each(battery)("%s", (_name, request) => {
	it("is answered by the lean route exactly as by moleculer-web's routing", async () => {
		const [fromLean, fromStock] = await Promise.all([send(lean.baseUrl, request), send(stock.baseUrl, request)]);
		const expected = comparable(fromStock);
		// One difference, on purpose: the lean route's HEAD answer gives GET's Content-Length (RFC 9110
		// §9.3.2: the same header fields as GET), where Node leaves it out on moleculer-web's path.
		if (request.method === "HEAD" && fromLean.headers["content-length"] !== undefined) {
			const get = await send(lean.baseUrl, { ...request, method: "GET" });
			expect(fromLean.headers["content-length"]).toBe(String(Buffer.byteLength(get.text)));
			expected.headers["content-length"] = fromLean.headers["content-length"];
		}
		expect(comparable(fromLean)).toEqual(expected);
	});
});

it("echoes a client's safe request id on both paths", async () => {
	for (const node of [lean, stock]) {
		const res = await send(node.baseUrl, { method: "GET", path: "/api/ping", headers: { "X-Request-ID": "client-chosen-id-42" } });
		expect(res.headers["x-request-id"]).toBe("client-chosen-id-42");
	}
});

it("keeps the security headers on the lean route's answers and errors", async () => {
	for (const path of ["/api/ping", "/api/users/me", "/api/hunts?limit=abc"]) {
		const res = await send(lean.baseUrl, { method: "GET", path });
		expect(res.headers).toMatchObject({ "content-security-policy": expect.stringContaining("default-src 'none'"), "x-content-type-options": "nosniff", "cache-control": "no-store" });
	}
});

describe("which requests take the lean route", () => {
	async function routeHandlerRunsFor(node: TestNode, request: RawRequest): Promise<number> {
		const spy = routeHandlerRuns.get(node)!;
		spy.mockClear();
		await send(node.baseUrl, request);
		return spy.mock.calls.length;
	}

	it("fixed-path actions skip moleculer-web's route handler, with or without a body", async () => {
		expect(await routeHandlerRunsFor(lean, { method: "GET", path: "/api/ping" })).toBe(0);
		expect(await routeHandlerRunsFor(lean, { method: "GET", path: "/api/hunts?limit=1" })).toBe(0);
		expect(await routeHandlerRunsFor(lean, { method: "POST", path: "/api/auth/login", headers: json, body: "{}" })).toBe(0);
	});

	it("paths with parameters, preflights, pages and unknown paths take moleculer-web's", async () => {
		expect(await routeHandlerRunsFor(lean, { method: "GET", path: "/api/hunts/some-id" })).toBe(1);
		expect(await routeHandlerRunsFor(lean, { method: "OPTIONS", path: "/api/auth/login", headers: { Origin: ORIGIN, "Access-Control-Request-Method": "POST" } })).toBe(1);
		expect(await routeHandlerRunsFor(lean, { method: "GET", path: "/api/openapi.json" })).toBe(1);
		expect(await routeHandlerRunsFor(lean, { method: "GET", path: "/api/nothing-here" })).toBe(1);
	});

	it("GATEWAY_LEAN_ROUTES=false sends every request moleculer-web's way", async () => {
		expect(await routeHandlerRunsFor(switchedOff, { method: "GET", path: "/api/ping" })).toBe(1);
		expect(await routeHandlerRunsFor(switchedOff, { method: "POST", path: "/api/auth/login", headers: json, body: "{}" })).toBe(1);
	});

	it("keeps learning the paths clients use when a client fills the table with letter cases", async () => {
		// 1,100 letter-case variants of one fixed path (16 letters): more than the table holds.
		const caseVariant = (n: number) => {
			let letter = 0;
			return [..."admin/audit/verify"].map(char => (char === "/" ? char : (n >> letter++) & 1 ? char.toUpperCase() : char)).join("");
		};
		const variants = Array.from({ length: 1100 }, (_, n) => `/api/${caseVariant(n)}`);
		expect(new Set(variants).size).toBe(1100);
		for (let i = 0; i < variants.length; i += 100) await Promise.all(variants.slice(i, i + 100).map(path => send(lean.baseUrl, { method: "GET", path })));
		// A path no request of this file used before: the table must still take it in.
		await send(lean.baseUrl, { method: "GET", path: "/api/auth/jwks" });
		expect(await routeHandlerRunsFor(lean, { method: "GET", path: "/api/auth/jwks" })).toBe(0);
	});
});
