import type { IncomingMessage, ServerResponse } from "node:http";
import { apiSecurityHeaders } from "./security-headers";

function headersSetBy(opts: { hsts: boolean }): Record<string, string> {
	const headers: Record<string, string> = {};
	const res = { setHeader: (name: string, value: string) => (headers[name.toLowerCase()] = value), removeHeader: (name: string) => delete headers[name.toLowerCase()] };
	let nextCalled = 0;
	apiSecurityHeaders(opts)({ headers: {} } as IncomingMessage, res as unknown as ServerResponse, () => nextCalled++);
	expect(nextCalled).toBe(1);
	return headers;
}

describe("apiSecurityHeaders", () => {
	it("sets helmet's headers for a JSON API, worked out once, and no-store", () => {
		expect(headersSetBy({ hsts: true })).toEqual({
			"cache-control": "no-store",
			"content-security-policy": "default-src 'none';frame-ancestors 'none'",
			"cross-origin-resource-policy": "cross-origin",
			"referrer-policy": "no-referrer",
			"strict-transport-security": "max-age=15552000; includeSubDomains",
			"x-content-type-options": "nosniff",
			"x-frame-options": "DENY",
		});
	});

	it("declares the same headers as static, for the lean route to send with the response head", () => {
		for (const hsts of [true, false]) {
			const declared = Object.fromEntries(apiSecurityHeaders({ hsts }).staticHeaders.map(([name, value]) => [name.toLowerCase(), value]));
			expect(declared).toEqual(headersSetBy({ hsts }));
		}
	});

	it("leaves HSTS out outside production", () => {
		expect(headersSetBy({ hsts: false })).not.toHaveProperty("strict-transport-security");
	});
});
