/**
 * HTTP behaviour clients and proxies expect and moleculer-web does not give: which methods a path
 * allows (for 405 and OPTIONS), HEAD answered like GET, bodies that are not JSON refused with 415
 * instead of being read as "no parameters", and enveloped answers for what Node's own parser
 * refuses. Pure functions; services/api.service.ts wires them.
 */
import type { IncomingMessage } from "node:http";

/** Longer URLs answer 414; Node refuses a request line and headers beyond 16 KiB by itself (431). */
export const URL_MAX_LENGTH = 8 * 1024;

export interface RoutedAlias {
	method: string;
	match(path: string): unknown;
}

/** The methods some alias serves at `path` (with HEAD beside GET, and OPTIONS), or [] when none does. */
export function allowedMethods(aliases: readonly RoutedAlias[], path: string): string[] {
	const methods = new Set<string>();
	for (const alias of aliases) {
		if (alias.method === "*" || !alias.match(path)) continue;
		methods.add(alias.method);
		if (alias.method === "GET") methods.add("HEAD");
	}
	if (!methods.size) return [];
	methods.add("OPTIONS");
	return [...methods].sort();
}

function hasBody(req: IncomingMessage): boolean {
	const length = req.headers["content-length"];
	return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** What the gateway's JSON body parser reads: anything else (even `+json` types) it would skip. */
const JSON_MEDIA_TYPE = /^application\/json\s*(?:;|$)/i;

/** True when the request carries a body that does not say it is JSON. */
export function hasNonJsonBody(req: IncomingMessage): boolean {
	if (!hasBody(req)) return false;
	return !JSON_MEDIA_TYPE.test(req.headers["content-type"] ?? "");
}

/** The path part of a request URL, without the query string. */
export function pathOf(url: string | undefined): string {
	const path = (url ?? "/").split("?")[0];
	return path || "/";
}
