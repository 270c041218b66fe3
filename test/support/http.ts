/** A small JSON client for integration tests against a node's gateway. */
export interface JsonResponse {
	status: number;
	headers: Headers;
	body: any;
	text: string;
}

export interface RequestOptions {
	token?: string;
	headers?: Record<string, string>;
	/** Sent as is when a string (to send malformed or oversized JSON), JSON-encoded otherwise. */
	body?: unknown;
}

export function httpClient(baseUrl: string) {
	async function request(method: string, path: string, options: RequestOptions = {}): Promise<JsonResponse> {
		const headers: Record<string, string> = { ...options.headers };
		if (options.token) headers.Authorization = `Bearer ${options.token}`;
		let body: string | undefined;
		if (options.body !== undefined) {
			headers["Content-Type"] ??= "application/json";
			body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
		}
		const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
		const text = await res.text();
		let parsed: unknown = text;
		try {
			parsed = text ? JSON.parse(text) : undefined;
		} catch {
			// not JSON: keep the text
		}
		return { status: res.status, headers: res.headers, body: parsed, text };
	}
	return {
		request,
		get: (path: string, options?: RequestOptions) => request("GET", path, options),
		post: (path: string, body?: unknown, options: RequestOptions = {}) => request("POST", path, { ...options, body: body ?? {} }),
		patch: (path: string, body: unknown, options: RequestOptions = {}) => request("PATCH", path, { ...options, body }),
		put: (path: string, body: unknown, options: RequestOptions = {}) => request("PUT", path, { ...options, body }),
		delete: (path: string, options?: RequestOptions) => request("DELETE", path, options),
	};
}

export type HttpClient = ReturnType<typeof httpClient>;

/** The error envelope with this code, and nothing that looks like internals. */
export function expectError(res: JsonResponse, status: number, code: string): void {
	expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
	expect(res.text).not.toMatch(/stack|at \/|\.[jt]s:\d+/);
}
