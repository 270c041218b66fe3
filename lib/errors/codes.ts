/**
 * The registry of error codes clients may rely on. A code keeps its meaning and status forever:
 * to change either, add a new code and move the old one to RETIRED_ERROR_CODES, which the registry
 * test keeps from ever being reused.
 */
export const ERROR_CODES = {
	BAD_REQUEST: { status: 400, message: "The request could not be understood" },
	MALFORMED_JSON: { status: 400, message: "The request body is not valid JSON" },
	UNAUTHENTICATED: { status: 401, message: "Authentication is required" },
	FORBIDDEN: { status: 403, message: "You are not allowed to do this" },
	NOT_FOUND: { status: 404, message: "No such resource" },
	ROUTE_NOT_FOUND: { status: 404, message: "No such endpoint" },
	METHOD_NOT_ALLOWED: { status: 405, message: "This endpoint does not accept that method" },
	CONFLICT: { status: 409, message: "The request conflicts with the current state" },
	ALREADY_EXISTS: { status: 409, message: "It already exists" },
	PAYLOAD_TOO_LARGE: { status: 413, message: "The request body is too large" },
	UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "The request body must be JSON" },
	VALIDATION_FAILED: { status: 422, message: "Some parameters are invalid" },
	RATE_LIMITED: { status: 429, message: "Too many requests, slow down" },
	OVERLOADED: { status: 429, message: "The service is busy, retry shortly" },
	INTERNAL_ERROR: { status: 500, message: "Something went wrong on our side" },
	SERVICE_UNAVAILABLE: { status: 503, message: "The service is temporarily unavailable" },
	UPSTREAM_TIMEOUT: { status: 504, message: "The service took too long to answer" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes once published and since withdrawn: never to be used again for anything else. */
export const RETIRED_ERROR_CODES: readonly string[] = [];

export function isErrorCode(value: unknown): value is ErrorCode {
	return typeof value === "string" && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}
