import { randomUUID } from "node:crypto";

/**
 * A client may send its own X-Request-ID to correlate logs; anything that is not a short token is
 * replaced, so a header can never inject text into logs or responses.
 */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function acceptRequestId(incoming: string | string[] | undefined): string {
	const value = Array.isArray(incoming) ? incoming[0] : incoming;
	return value && SAFE_REQUEST_ID.test(value) ? value : randomUUID();
}
