import { Errors } from "moleculer";
import { ERROR_CODES, ErrorCode } from "./codes";

/**
 * An expected failure with a registered code. It extends Moleculer's error so it crosses the
 * transporter intact (name, code = HTTP status, type = our stable code, data = details) and the
 * gateway can render it without knowing where it was thrown. 4xx errors are not retried.
 */
export class AppError extends Errors.MoleculerError {
	constructor(code: ErrorCode, message?: string, details?: unknown) {
		const { status, message: defaultMessage } = ERROR_CODES[code];
		super(message ?? defaultMessage, status, code, details);
		this.name = "AppError";
		this.retryable = status >= 500;
	}
}

export const notFound = (what: string, details?: unknown) => new AppError("NOT_FOUND", `${what} not found`, details);
export const forbidden = (message?: string) => new AppError("FORBIDDEN", message);
export const conflict = (message: string, details?: unknown) => new AppError("CONFLICT", message, details);
