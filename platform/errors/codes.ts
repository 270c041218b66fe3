/**
 * The registry of error codes clients may rely on. A code keeps its meaning and status forever:
 * to change either, add a new code and move the old one to RETIRED_ERROR_CODES, which the registry
 * test keeps from ever being reused.
 */
export const ERROR_CODES = {
	BAD_REQUEST: { status: 400, message: "The request could not be understood" },
	MALFORMED_JSON: { status: 400, message: "The request body is not valid JSON" },
	INPUT_TOO_DEEP: { status: 400, message: "The request nests structures too deeply" },
	BODY_UNREADABLE: { status: 400, message: "The request body could not be decompressed" },
	INVALID_LAST_EVENT_ID: { status: 400, message: "Last-Event-ID (or lastEventId) must be a notification number: a non-negative integer" },
	INVALID_IDEMPOTENCY_KEY: { status: 400, message: "The Idempotency-Key header must be 1 to 255 visible ASCII characters" },
	UNAUTHENTICATED: { status: 401, message: "Authentication is required" },
	INVALID_CREDENTIALS: { status: 401, message: "Email or password is wrong" },
	INVALID_TOKEN: { status: 401, message: "The access token is not valid" },
	TOKEN_EXPIRED: { status: 401, message: "The access token has expired; refresh it" },
	INVALID_REFRESH_TOKEN: { status: 401, message: "The refresh token is not valid; log in again" },
	FORBIDDEN: { status: 403, message: "You are not allowed to do this" },
	LOCAL_ONLY: { status: 403, message: "This action cannot be called from another node" },
	NOT_FOUND: { status: 404, message: "No such resource" },
	ROUTE_NOT_FOUND: { status: 404, message: "No such endpoint" },
	METHOD_NOT_ALLOWED: { status: 405, message: "This endpoint does not accept that method" },
	CONFLICT: { status: 409, message: "The request conflicts with the current state" },
	ALREADY_EXISTS: { status: 409, message: "It already exists" },
	EMAIL_TAKEN: { status: 409, message: "An account with this email already exists" },
	PARTNER_NOT_ACTIVE: { status: 409, message: "The partner is not verified or has been suspended" },
	LAST_OWNER: { status: 409, message: "A partner must keep at least one owner" },
	HUNT_FROZEN: { status: 409, message: "A published hunt's clues and paths cannot change" },
	HUNT_STATE: { status: 409, message: "The hunt is not in a state that allows this" },
	ALREADY_JOINED: { status: 409, message: "You already take part in this hunt" },
	HUNT_FULL: { status: 409, message: "The hunt has no place left" },
	HUNT_NOT_RUNNING: { status: 409, message: "The hunt is not running: it has not started or is over" },
	PARTICIPATION_STATE: { status: 409, message: "The participation is not in a state that allows this" },
	NO_MORE_HINTS: { status: 409, message: "This clue has no more hints" },
	JOIN_CODE_INVALID: { status: 403, message: "The join code is wrong" },
	TOO_MANY_ATTEMPTS: { status: 429, message: "Too many wrong answers; wait before trying again" },
	REWARD_EXHAUSTED: { status: 409, message: "This reward has none left" },
	ALREADY_CLAIMED: { status: 409, message: "You already claimed this reward" },
	NOT_ELIGIBLE: { status: 403, message: "You are not eligible for this reward" },
	ALREADY_REDEEMED: { status: 409, message: "This code was redeemed already" },
	CODE_UNKNOWN: { status: 404, message: "No reward has this code" },
	PAYLOAD_TOO_LARGE: { status: 413, message: "The request body is too large" },
	URI_TOO_LONG: { status: 414, message: "The request URL is too long" },
	UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "The request body must be JSON" },
	VALIDATION_FAILED: { status: 422, message: "Some parameters are invalid" },
	WEAK_PASSWORD: { status: 422, message: "Choose a stronger password" },
	HUNT_INVALID: { status: 422, message: "The hunt cannot be published as it is" },
	IDEMPOTENCY_KEY_REUSED: { status: 422, message: "This Idempotency-Key was already used for a different request" },
	RATE_LIMITED: { status: 429, message: "Too many requests, slow down" },
	HEADERS_TOO_LARGE: { status: 431, message: "The request's headers (or URL) are too large" },
	LOGIN_THROTTLED: { status: 429, message: "Too many failed attempts; wait before trying again" },
	REFRESH_THROTTLED: { status: 429, message: "Too many invalid refresh tokens from here; wait before trying again" },
	TOO_MANY_CONNECTIONS: { status: 429, message: "You have as many live connections open as allowed; close one first" },
	OVERLOADED: { status: 429, message: "The service is busy, retry shortly" },
	INTERNAL_ERROR: { status: 500, message: "Something went wrong on our side" },
	SERVICE_UNAVAILABLE: { status: 503, message: "The service is temporarily unavailable" },
	LIVE_CAPACITY_REACHED: { status: 503, message: "This server holds as many live connections as it can; retry shortly" },
	UPSTREAM_TIMEOUT: { status: 504, message: "The service took too long to answer" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes once published and since withdrawn: never to be used again for anything else. */
export const RETIRED_ERROR_CODES: readonly string[] = [];

export function isErrorCode(value: unknown): value is ErrorCode {
	return typeof value === "string" && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}
