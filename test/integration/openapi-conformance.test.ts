/**
 * The OpenAPI document against the running gateway: real requests (successes and the errors
 * clients meet), each response checked against what the document declares for its operation, its
 * status, the headers the document promises and its body's schema. A generated client that trusts
 * the document is not surprised by what the server sends.
 */
import { randomUUID } from "node:crypto";
import Ajv2020 from "ajv/dist/2020";
import { httpClient, type HttpClient, type JsonResponse } from "../support/http";
import { startTestNode, type TestNode } from "../support/node";

const ADMIN = { email: "conformance-admin@lootopia.example", password: "operator passphrase 42" };
const PASSWORD = "a perfectly fine passphrase";

interface Operation {
	responses: Record<string, { $ref?: string; headers?: Record<string, { $ref: string }>; content?: Record<string, { schema: unknown }> }>;
}

describe("responses conform to the OpenAPI document", () => {
	let node: TestNode;
	let http: HttpClient;
	let doc: { paths: Record<string, Record<string, Operation>>; components: { responses: Record<string, Operation["responses"][string]> } };
	const ajv = new Ajv2020({ strict: false, allErrors: true });
	ajv.addFormat("uuid", /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
	ajv.addFormat("date-time", { validate: (value: string) => /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value)) });
	ajv.addFormat("email", /@/);
	ajv.addFormat("uri", { validate: (value: string) => URL.canParse(value) });
	const checked: string[] = [];

	beforeAll(async () => {
		node = await startTestNode({ RATE_LIMIT_PER_MINUTE: "0", REGISTRATIONS_PER_HOUR: "0", ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
		http = httpClient(node.baseUrl);
		doc = (await http.get("/api/openapi.json")).body;
		ajv.addSchema(doc, "openapi");
	});
	afterAll(() => node?.stop());

	/** The document's path template for a concrete path (`/api/partners/{id}` for `/api/partners/42`). */
	function templateOf(path: string): string {
		const bare = path.split("?")[0];
		const match = Object.keys(doc.paths).find(template => new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(bare));
		if (!match) throw new Error(`no documented path matches ${bare}`);
		return match;
	}

	/** Checks one response against its operation's declaration; returns it for the test to go on. */
	function conform(method: string, path: string, res: JsonResponse): JsonResponse {
		const template = templateOf(path);
		const operation = doc.paths[template][method.toLowerCase()];
		expect({ operation: `${method} ${template}`, exists: Boolean(operation) }).toEqual({ operation: `${method} ${template}`, exists: true });
		let declared = operation.responses[String(res.status)];
		expect({ where: `${method} ${path}`, status: res.status, declared: Boolean(declared) }).toEqual({ where: `${method} ${path}`, status: res.status, declared: true });
		let pointer = `openapi#/paths/${template.replace(/~/g, "~0").replace(/\//g, "~1")}/${method.toLowerCase()}/responses/${res.status}`;
		if (declared.$ref) {
			pointer = `openapi${declared.$ref}`;
			declared = doc.components.responses[declared.$ref.split("/").pop()!];
		}
		for (const header of Object.keys(declared.headers ?? {})) {
			expect({ where: `${method} ${path} ${res.status}`, header, present: res.headers.has(header) }).toEqual({ where: `${method} ${path} ${res.status}`, header, present: true });
		}
		if (declared.content?.["application/json"]) {
			const validate = ajv.getSchema(`${pointer}/content/application~1json/schema`)!;
			const valid = validate(res.body);
			expect({ where: `${method} ${path} ${res.status}`, errors: valid ? [] : validate.errors }).toEqual({ where: `${method} ${path} ${res.status}`, errors: [] });
		} else {
			expect(res.text).toBe("");
		}
		checked.push(`${method} ${template} ${res.status}`);
		return res;
	}

	const call = (method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
		http.request(method, path, options).then(res => conform(method, path, res));

	it("for the identity and partner operations, successes and the errors clients meet", async () => {
		const email = `conform-${randomUUID().slice(0, 8)}@example.com`;
		const registered = await call("POST", "/api/auth/register", { body: { email, password: PASSWORD, displayName: "Conform" } });
		expect(registered.status).toBe(201);
		await call("POST", "/api/auth/register", { body: { email, password: PASSWORD, displayName: "Again" } }); // 409
		await call("POST", "/api/auth/register", { body: { email: "not-an-email", password: "x", displayName: "" } }); // 422
		await call("POST", "/api/auth/register", { body: "not json", headers: { "Content-Type": "text/plain" } }); // 415
		const login = await call("POST", "/api/auth/login", { body: { email, password: PASSWORD } });
		await call("POST", "/api/auth/login", { body: { email, password: "wrong wrong wrong" } }); // 401
		const token = login.body.accessToken;
		await call("GET", "/api/auth/me", { token });
		await call("GET", "/api/auth/me"); // 401
		await call("GET", "/api/users/me", { token });
		await call("PATCH", "/api/users/me", { token, body: { displayName: "Conformed", locale: "fr-FR" } });
		await call("GET", `/api/users/${registered.body.user.id}`);
		await call("GET", `/api/users/${randomUUID()}`); // 404
		const refreshed = await call("POST", "/api/auth/refresh", { body: { refreshToken: login.body.refreshToken } });
		await call("POST", "/api/auth/refresh", { body: { refreshToken: "not-a-token" } }); // 401
		const partner = await call("POST", "/api/partners", { token, body: { name: "Conformity Café", website: "https://cafe.example" } });
		expect(partner.status).toBe(201);
		await call("GET", `/api/partners/${partner.body.id}`, { token });
		await call("GET", "/api/partners", { token });
		const admin = (await call("POST", "/api/auth/login", { body: ADMIN })).body.accessToken;
		await call("POST", `/api/partners/${partner.body.id}/verify`, { token: admin });
		await call("POST", `/api/partners/${partner.body.id}/verify`, { token: refreshed.body.accessToken }); // 403
		// Anyone else sees the public view of a verified partner.
		await call("GET", `/api/partners/${partner.body.id}`);
		await call("GET", "/api/admin/partners?status=verified", { token: admin });
		await call("GET", "/api/admin/audit?limit=5", { token: admin });
		await call("GET", "/api/admin/audit/verify", { token: admin });
		await call("GET", "/api/ping");
		await call("GET", "/api/auth/jwks");
		await call("POST", "/api/auth/logout", { token: refreshed.body.accessToken });

		// Not vacuous: these statuses were all met and checked.
		for (const seen of [
			"POST /api/auth/register 201",
			"POST /api/auth/register 409",
			"POST /api/auth/register 422",
			"POST /api/auth/register 415",
			"POST /api/auth/login 401",
			"GET /api/users/{id} 404",
			"POST /api/partners/{id}/verify 403",
			"GET /api/partners/{id} 200",
			"POST /api/auth/logout 204",
		]) {
			expect(checked).toContain(seen);
		}
	});
});
