/**
 * Parameter rules (fastest-validator) for the identity fields more than one service accepts, so a
 * display name or a password is held to the same limits wherever it comes in.
 */
import { PASSWORD_MAX_LENGTH } from "../domain/auth/passwords";

export const EMAIL_MAX_LENGTH = 254;

/**
 * Text a person reads: no control characters, no invisible formatting (bidi overrides that make
 * "evil.com" display as "moc.live", zero-width spaces), no line separators. The zero-width joiner
 * stays: emoji sequences need it.
 */
export const PRINTABLE_TEXT = /^(?:[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\u200D)*$/u;
const NOT_PRINTABLE = "The '{field}' field may not contain control, invisible formatting or direction-override characters";
export const DISPLAY_NAME_MAX_LENGTH = 50;

/** A new address: must look like one. Logins take any string up to the length, so a typo is a 401, not a 422. */
export const EMAIL_PARAM = {
	type: "email",
	max: EMAIL_MAX_LENGTH,
	normalize: false,
	// fastest-validator's email pattern lets any non-space character through.
	custom: (value: unknown, errors: Array<{ type: string; actual: unknown }>) => {
		if (typeof value === "string" && !PRINTABLE_TEXT.test(value)) errors.push({ type: "printable", actual: value });
		return value;
	},
	messages: { printable: NOT_PRINTABLE },
} as const;
export const LOGIN_EMAIL_PARAM = { type: "string", min: 1, max: EMAIL_MAX_LENGTH } as const;
/** The strength policy is checked where a password is set; this only bounds what gets hashed. */
export const PASSWORD_PARAM = { type: "string", min: 1, max: PASSWORD_MAX_LENGTH } as const;
export const DISPLAY_NAME_PARAM = { type: "string", trim: true, min: 1, max: DISPLAY_NAME_MAX_LENGTH, pattern: PRINTABLE_TEXT, messages: { stringPattern: NOT_PRINTABLE } } as const;
