import helmet from "helmet";
import type { IncomingMessage, ServerResponse } from "node:http";

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * A route middleware that only ever sets these fixed headers. The lean route (lean-gateway.ts)
 * sends them with the response head instead of running it: Node validates and stores each header
 * set one by one.
 */
export type StaticHeadersMiddleware = Middleware & { staticHeaders: ReadonlyArray<readonly [string, string]> };

/**
 * The API only ever answers JSON, so its pages may load nothing and be framed by no one. The docs
 * page loads Swagger UI's script and stylesheet from our own origin; Swagger UI sets inline styles.
 */
export function apiSecurityHeaders(opts: { hsts: boolean }): StaticHeadersMiddleware {
	// Answers carry tokens and personal data: no browser or proxy keeps them, unless a handler says
	// otherwise (the docs' static assets do).
	const headers: Array<[string, string]> = [["Cache-Control", "no-store"], ...staticHeaders(helmetHeaders(opts))];
	const middleware: Middleware = (_req, res, next) => {
		for (const [name, value] of headers) res.setHeader(name, value);
		next();
	};
	return Object.assign(middleware, { staticHeaders: headers });
}

/**
 * The headers a helmet middleware sets. With our options they never depend on the request, so
 * they are worked out once here instead of by helmet's chain of middlewares on every response.
 */
function staticHeaders(middleware: Middleware): Array<[string, string]> {
	const set = new Map<string, string>();
	const recorder = {
		setHeader: (name: string, value: string) => set.set(name, String(value)),
		removeHeader: (name: string) => set.delete(name),
	} as unknown as ServerResponse;
	let synchronous = false;
	middleware({ headers: {} } as IncomingMessage, recorder, err => {
		if (err) throw err;
		synchronous = true;
	});
	if (!synchronous) throw new Error("helmet's headers are expected to be set synchronously");
	return [...set];
}

function helmetHeaders(opts: { hsts: boolean }): Middleware {
	// Headers that only matter for HTML documents (DNS prefetch, IE download and XSS filters,
	// Flash policies, agent clustering, opener isolation) are left out: every byte is paid on every
	// response of a JSON API, and the CSP below already forbids the page loading anything.
	return helmet({
		contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
		strictTransportSecurity: opts.hsts ? { maxAge: 15552000, includeSubDomains: true } : false,
		crossOriginResourcePolicy: { policy: "cross-origin" },
		crossOriginOpenerPolicy: false,
		originAgentCluster: false,
		xDnsPrefetchControl: false,
		xDownloadOptions: false,
		xPermittedCrossDomainPolicies: false,
		xXssProtection: false,
		xFrameOptions: { action: "deny" },
	}) as Middleware;
}

export const DOCS_PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";
