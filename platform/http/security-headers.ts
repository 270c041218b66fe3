import helmet from "helmet";
import type { IncomingMessage, ServerResponse } from "node:http";

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * The API only ever answers JSON, so its pages may load nothing and be framed by no one. The docs
 * page loads Swagger UI's script and stylesheet from our own origin; Swagger UI sets inline styles.
 */
export function apiSecurityHeaders(opts: { hsts: boolean }): Middleware {
	const headers = helmetHeaders(opts);
	// Answers carry tokens and personal data: no browser or proxy keeps them, unless a handler says
	// otherwise (the docs' static assets do).
	return (req, res, next) => {
		res.setHeader("Cache-Control", "no-store");
		headers(req, res, next);
	};
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
