/**
 * What the circuit breaker counts: failures of the infrastructure behind an endpoint (a node or
 * database that does not answer, a lost connection, a timeout), never an error a request's content
 * caused. Counting the latter let about twenty malformed anonymous requests open the breaker that
 * every user's login and refresh go through.
 */

/** Moleculer's errors for an endpoint that is unreachable, gone or too slow. */
const UNREACHABLE = new Set(["RequestTimeoutError", "ServiceNotAvailableError", "ServiceNotFoundError", "RequestSkippedError", "BrokerDisconnectedError", "RequestRejectedError"]);

/** Node's socket errors. */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "ECONNABORTED"]);

/**
 * PostgreSQL SQLSTATE classes about the server rather than the statement: 08 connection, 53
 * insufficient resources, 57 operator intervention (shutdown, cancel), 58 system error, XX internal.
 */
const POSTGRES_INFRASTRUCTURE_CLASS = /^(08|53|57|58|XX)[0-9A-Z]{3}$/;

/** Our own codes for a dependency that is down or slow. */
const INFRASTRUCTURE_TYPES = new Set(["SERVICE_UNAVAILABLE", "UPSTREAM_TIMEOUT"]);

/** What pg's client says when its connection is gone; matched whole, on pg's own (plain) errors only. */
const PG_CONNECTION_LOST =
	/^(Connection terminated|Connection terminated unexpectedly|Connection terminated due to connection timeout|Client has encountered a connection error and is not queryable)$/;

export function isInfrastructureFailure(err: unknown): boolean {
	const e = (err ?? {}) as { name?: unknown; code?: unknown; type?: unknown; message?: unknown };
	if (typeof e.name === "string" && UNREACHABLE.has(e.name)) return true;
	// Typed errors (ours, Moleculer's, the validator's) say what they are by their type alone; their
	// messages may quote the request.
	if (e.name === "AppError" || (typeof e.type === "string" && /^[A-Z_]+$/.test(e.type) && typeof e.code === "number")) return typeof e.type === "string" && INFRASTRUCTURE_TYPES.has(e.type);
	if (typeof e.code === "string" && (NETWORK_CODES.has(e.code) || POSTGRES_INFRASTRUCTURE_CLASS.test(e.code))) return true;
	return e.name === "Error" && typeof e.message === "string" && PG_CONNECTION_LOST.test(e.message);
}

/**
 * For an action that answers from this process's memory and calls nothing: a bulkhead, a breaker
 * or a retry around it protects no resource and only adds its cost to every call (about 5 µs a
 * request on the gateway bench). Spread into such an action's definition.
 */
export const NOTHING_TO_PROTECT = {
	bulkhead: { enabled: false },
	circuitBreaker: { enabled: false },
	retryPolicy: { enabled: false },
} as const;
