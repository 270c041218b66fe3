import type { IncomingMessage } from "node:http";
import { allowedMethods, hasNonJsonBody, pathOf } from "./http-semantics";

const alias = (method: string, re: RegExp) => ({ method, match: (path: string) => (re.test(path) ? {} : false) });
const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe("allowedMethods", () => {
	const aliases = [alias("GET", /^\/api\/users\/me$/), alias("PATCH", /^\/api\/users\/me$/), alias("POST", /^\/api\/auth\/login$/), alias("*", /.*/)];

	it("lists what a path serves, HEAD beside GET, and OPTIONS", () => {
		expect(allowedMethods(aliases, "/api/users/me")).toEqual(["GET", "HEAD", "OPTIONS", "PATCH"]);
		expect(allowedMethods(aliases, "/api/auth/login")).toEqual(["OPTIONS", "POST"]);
	});

	it("is empty for a path nothing serves (a 404, not a 405)", () => {
		expect(allowedMethods(aliases, "/api/nowhere")).toEqual([]);
	});
});

describe("hasNonJsonBody", () => {
	it("accepts application/json, with parameters", () => {
		expect(hasNonJsonBody(request({ "content-length": "2", "content-type": "application/json" }))).toBe(false);
		expect(hasNonJsonBody(request({ "content-length": "2", "content-type": "application/json; charset=utf-8" }))).toBe(false);
		// The body parser reads only application/json: a +json type would arrive as no parameters.
		expect(hasNonJsonBody(request({ "content-length": "2", "content-type": "application/merge-patch+json" }))).toBe(true);
	});

	it("flags a body of any other type, or of no declared type", () => {
		expect(hasNonJsonBody(request({ "content-length": "7", "content-type": "text/plain" }))).toBe(true);
		expect(hasNonJsonBody(request({ "transfer-encoding": "chunked", "content-type": "application/x-www-form-urlencoded" }))).toBe(true);
		expect(hasNonJsonBody(request({ "content-length": "7" }))).toBe(true);
		expect(hasNonJsonBody(request({ "content-length": "7", "content-type": "application/jsonp" }))).toBe(true);
	});

	it("does not care about the type of an empty body", () => {
		expect(hasNonJsonBody(request({ "content-type": "text/plain" }))).toBe(false);
		expect(hasNonJsonBody(request({ "content-length": "0", "content-type": "text/plain" }))).toBe(false);
	});
});

describe("pathOf", () => {
	it("drops the query string", () => {
		expect(pathOf("/api/hunts?lat=1")).toBe("/api/hunts");
		expect(pathOf(undefined)).toBe("/");
	});
});
