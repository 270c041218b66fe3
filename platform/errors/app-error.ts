import { ERROR_CODES, ErrorCode } from "./codes";

/**
 * An expected failure with a registered code, thrown by domain modules and services alike. It has
 * the fields Moleculer serialises for errors (name, message, code = HTTP status, type = our stable
 * code, data = details, retryable), so it crosses the transporter intact without this module
 * depending on Moleculer, and the gateway renders it without knowing where it was thrown.
 * 4xx errors are not retried.
 */
export class AppError extends Error {
	readonly code: number;
	readonly type: ErrorCode;
	readonly data: unknown;
	readonly retryable: boolean;

	constructor(code: ErrorCode, message?: string, details?: unknown) {
		const { status, message: defaultMessage } = ERROR_CODES[code];
		super(message ?? defaultMessage);
		this.name = "AppError";
		this.code = status;
		this.type = code;
		this.data = details;
		this.retryable = status >= 500;
	}
}

export const notFound = (what: string, details?: unknown) => new AppError("NOT_FOUND", `${what} not found`, details);
export const forbidden = (message?: string) => new AppError("FORBIDDEN", message);

export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
	return err instanceof Error && err.name === "AppError" && (code === undefined || (err as AppError).type === code);
}
