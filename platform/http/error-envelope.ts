/**
 * Turns any error that reaches the gateway into the public envelope
 * `{ error: { code, message, details? } }` with the fitting status. Pure: it recognises Moleculer,
 * moleculer-web and body-parser errors by their fields, so it is unit-tested without a broker.
 * Anything unrecognised becomes a 500 with a generic message: internals and stacks never leak.
 */
import { ERROR_CODES, ErrorCode, isErrorCode } from "../errors/codes";

export interface ErrorBody {
	error: { code: string; message: string; details?: unknown };
}

export interface RenderedError {
	status: number;
	body: ErrorBody;
	/** True when the failure is ours (5xx) and deserves an error log with the stack. */
	unexpected: boolean;
	headers?: Record<string, string>;
}

interface ErrorLike {
	name?: string;
	message?: string;
	code?: unknown;
	status?: unknown;
	statusCode?: unknown;
	type?: unknown;
	data?: unknown;
}

export interface ValidationIssue {
	field: string;
	message: string;
	rule?: string;
}

function fromRegistry(code: ErrorCode, message?: string, details?: unknown): RenderedError {
	const { status, message: defaultMessage } = ERROR_CODES[code];
	const body: ErrorBody = { error: { code, message: message || defaultMessage } };
	if (details !== undefined) body.error.details = details;
	return { status, body, unexpected: status >= 500 };
}

/** zlib's codes for a corrupt stream: Z_DATA_ERROR, Z_BUF_ERROR (gzip, deflate), ERR__ERROR_FORMAT_* (br). */
const ZLIB_ERROR_CODE = /^(Z_[A-Z_]+|ERR__ERROR_FORMAT_[A-Z0-9_]+|ERR_BROTLI_[A-Z_]+)$/;

/** fastest-validator reports `{type, field, message, actual, expected}`; clients need field + message. */
function validationIssues(data: unknown): ValidationIssue[] {
	if (!Array.isArray(data)) return [];
	return data.map(item => {
		const entry = item as { field?: string; message?: string; type?: string };
		return { field: entry.field ?? "", message: entry.message ?? "is invalid", rule: entry.type };
	});
}

/**
 * RFC 6750: a 401 names the scheme it wants, and says when the token itself was the problem, so a
 * client knows whether to refresh or to log in.
 */
export function renderError(err: unknown): RenderedError {
	const rendered = renderErrorBody(err);
	if (rendered.status !== 401) return rendered;
	const code = rendered.body.error.code;
	const challenge = code === "INVALID_TOKEN" || code === "TOKEN_EXPIRED" ? 'Bearer realm="lootopia", error="invalid_token"' : 'Bearer realm="lootopia"';
	return { ...rendered, headers: { ...rendered.headers, "WWW-Authenticate": challenge } };
}

function renderErrorBody(err: unknown): RenderedError {
	const e = (err ?? {}) as ErrorLike;

	// body-parser (raw or wrapped by moleculer-web) tells what went wrong in `type`.
	const bodyParserType = typeof e.type === "string" ? e.type : undefined;
	if (bodyParserType === "entity.parse.failed") return fromRegistry("MALFORMED_JSON");
	if (bodyParserType === "entity.too.large" || e.name === "PayloadTooLarge" || e.type === "PAYLOAD_TOO_LARGE") return fromRegistry("PAYLOAD_TOO_LARGE");
	if (bodyParserType === "encoding.unsupported" || bodyParserType === "charset.unsupported") return fromRegistry("UNSUPPORTED_MEDIA_TYPE");

	// A gzip, deflate or br body that does not decompress: body-parser's 400 arrives wrapped by
	// moleculer-web with zlib's error code in place of the status.
	if (typeof e.code === "string" && ZLIB_ERROR_CODE.test(e.code)) return fromRegistry("BODY_UNREADABLE");

	// moleculer-web's own "no route matched" (its type NOT_FOUND would otherwise read as ours).
	if (e.name === "NotFoundError") return fromRegistry("ROUTE_NOT_FOUND");
	// An AppError regenerated on another node arrives as a MoleculerError with the same fields.
	if (isErrorCode(e.type) && (e.name === "AppError" || (typeof e.code === "number" && e.code === ERROR_CODES[e.type].status))) {
		return withRetryAfter(fromRegistry(e.type, e.message, e.data ?? undefined), e.data);
	}

	switch (e.name) {
		case "ValidationError":
			return fromRegistry("VALIDATION_FAILED", undefined, validationIssues(e.data));
		case "InvalidRequestBodyError":
			return fromRegistry("MALFORMED_JSON");
		case "UnAuthorizedError":
			return fromRegistry("UNAUTHENTICATED");
		case "ForbiddenError":
			return fromRegistry("FORBIDDEN");
		case "RateLimitExceeded":
			return fromRegistry("RATE_LIMITED");
		case "QueueIsFullError":
			return { ...fromRegistry("OVERLOADED"), headers: { "Retry-After": "1" } };
		case "RequestTimeoutError":
			return fromRegistry("UPSTREAM_TIMEOUT");
		case "ServiceNotFoundError":
		case "ServiceNotAvailableError":
		case "ServiceUnavailableError":
			return { ...fromRegistry("SERVICE_UNAVAILABLE"), headers: { "Retry-After": "5" } };
		case "MoleculerClientError":
		case "BadRequestError": {
			// A client error without a registered code (e.g. thrown by a library): keep its status,
			// give it the generic code for that status.
			const status = typeof e.code === "number" ? e.code : 400;
			return genericClientError(status, e.message);
		}
	}
	return fromRegistry("INTERNAL_ERROR");
}

/** Throttling errors say when to come back (`details.retryAfterSeconds`); HTTP clients read it from the header. */
function withRetryAfter(rendered: RenderedError, details: unknown): RenderedError {
	const seconds = (details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
	if (typeof seconds !== "number" || !(seconds > 0)) return rendered;
	return { ...rendered, headers: { ...rendered.headers, "Retry-After": String(Math.ceil(seconds)) } };
}

function genericClientError(status: number, message?: string): RenderedError {
	const byStatus: Record<number, ErrorCode> = {
		400: "BAD_REQUEST",
		401: "UNAUTHENTICATED",
		403: "FORBIDDEN",
		404: "NOT_FOUND",
		409: "CONFLICT",
		413: "PAYLOAD_TOO_LARGE",
		415: "UNSUPPORTED_MEDIA_TYPE",
		422: "VALIDATION_FAILED",
		429: "RATE_LIMITED",
	};
	const code = byStatus[status] ?? "BAD_REQUEST";
	return fromRegistry(code, message);
}
