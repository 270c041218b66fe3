/**
 * A battery of bad input over every operation the OpenAPI document lists, as an attacker would send
 * it: wrong types, NUL bytes, broken Unicode, deep nesting, prototype keys, huge numbers, path
 * parameters that are not ids, anonymous and as an admin. Whatever the operation, the answer is a
 * 2xx or a 4xx in the error envelope, never a 5xx.
 */
import { randomUUID } from "node:crypto";
import { httpClient, type HttpClient } from "../support/http";
import { startTestNode, type TestNode } from "../support/node";

const ADMIN = { email: "battery-admin@lootopia.example", password: "operator passphrase 42" };

type Schema = { type?: string | string[]; properties?: Record<string, Schema> };
interface Operation {
	parameters?: Array<{ name: string; in: "path" | "query" }>;
	requestBody?: { content: { "application/json": { schema: Schema } } };
	responses?: Record<string, { content?: Record<string, unknown> }>;
}

/** A stream (server-sent events) answers 200 and stays open: only its head is read. */
const isStream = (op: Operation) => Object.keys(op.responses?.["200"]?.content ?? {}).includes("text/event-stream");

const deep = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
/** Raw JSON texts, each a bad value for any field. */
const BAD_VALUES = ['"bad\\u0000value"', '"\\ud800"', deep(5_000), "1e308", "-1", "null", "true", '["a",{"b":[]}]', '{"__proto__":{"admin":true}}', `"${"x".repeat(20_000)}"`, '"\\u202Eevil"', "{}"];
const BAD_PATH_PARAMS = ["not-a-uuid", "%00", "..%2F..%2Fetc", "%F0%9F%98%80", "1e308", "%E2%80%AE"];
const BAD_BODIES = ["[]", '"just a string"', "null", "123", "{", '{"a":', deep(5_000)];

describe("bad input over every documented operation", () => {
	let node: TestNode;
	let http: HttpClient;
	let adminToken: string;
	let operations: Array<{ method: string; path: string; op: Operation }>;

	beforeAll(async () => {
		node = await startTestNode({ RATE_LIMIT_PER_MINUTE: "0", REGISTRATIONS_PER_HOUR: "0", ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
		http = httpClient(node.baseUrl);
		adminToken = (await http.post("/api/auth/login", ADMIN)).body.accessToken;
		const doc = (await http.get("/api/openapi.json")).body as { paths: Record<string, Record<string, Operation>> };
		operations = Object.entries(doc.paths)
			.filter(([path]) => path.startsWith("/api/") && !path.startsWith("/api/docs") && path !== "/api/openapi.json")
			.flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, op })));
	}, 60_000);
	afterAll(() => node?.stop());

	it("answers every one with 2xx or an enveloped 4xx, never 5xx", async () => {
		const failures: string[] = [];
		let sent = 0;
		const sendToStream = async (method: string, path: string, token?: string) => {
			const aborted = new AbortController();
			const res = await fetch(`${node.baseUrl}${path}`, { method, headers: token ? { Authorization: `Bearer ${token}` } : {}, signal: aborted.signal });
			sent++;
			const streaming = res.status === 200 && (res.headers.get("content-type") ?? "").startsWith("text/event-stream");
			const body = streaming ? undefined : ((await res.json().catch(() => undefined)) as { error?: { code?: unknown; message?: unknown } } | undefined);
			aborted.abort();
			if (res.status >= 500 || !(res.status < 400 || (typeof body?.error?.code === "string" && typeof body?.error?.message === "string"))) {
				failures.push(`${method} ${path} → ${res.status} ${JSON.stringify(body).slice(0, 120)}`);
			}
		};
		const send = async (method: string, path: string, body: string | undefined, token?: string) => {
			if (streams.has(path.split("?")[0].replace(/[0-9a-f-]{36}/g, "{id}"))) return sendToStream(method, path, token);
			const res = await http.request(method, path, { body, token });
			sent++;
			const enveloped = res.status < 400 || (typeof res.body?.error?.code === "string" && typeof res.body?.error?.message === "string");
			if (res.status >= 500 || !enveloped) failures.push(`${method} ${path} ${body?.slice(0, 60) ?? ""} → ${res.status} ${res.text.slice(0, 120)}`);
		};
		const streams = new Set(operations.filter(({ op }) => isStream(op)).map(({ path }) => path.replace(/\{[^}]+\}/g, "{id}")));
		for (const { method, path, op } of operations) {
			const withIds = path.replace(/\{[^}]+\}/g, () => randomUUID());
			const fields = Object.keys(op.requestBody?.content["application/json"].schema.properties ?? {});
			const query = (op.parameters ?? []).filter(p => p.in === "query").map(p => p.name);
			for (const token of [undefined, adminToken]) {
				// Path parameters that are not ids.
				for (const bad of BAD_PATH_PARAMS) if (path.includes("{")) await send(method, path.replace(/\{[^}]+\}/g, bad), op.requestBody ? "{}" : undefined, token);
				// Each body field, each bad value.
				for (const field of fields) for (const bad of BAD_VALUES) await send(method, withIds, `{${JSON.stringify(field)}:${bad}}`, token);
				// Bodies that are not objects, or not JSON at all.
				if (op.requestBody) for (const bad of BAD_BODIES) await send(method, withIds, bad, token);
				// Each query parameter, each bad value (as text, as a client would put it in the URL).
				for (const name of query) {
					for (const bad of ["%00", "%ED%A0%80", "-1", "1e308", "x".repeat(3_000), "[]", "a[b][c][d][e][f][g]=1"]) await send(method, `${withIds}?${name}=${bad}`, undefined, token);
					await send(method, `${withIds}?${name}[__proto__][admin]=1`, undefined, token);
				}
			}
		}
		expect(failures).toEqual([]);
		// Not vacuous: every documented operation was reached, with many requests each.
		expect(operations.length).toBeGreaterThan(20);
		expect(sent).toBeGreaterThan(operations.length * 10);
	}, 300_000);
});
