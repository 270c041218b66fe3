/**
 * Parameter rules (fastest-validator) for the identity fields more than one service accepts, so a
 * display name or a password is held to the same limits wherever it comes in.
 */
import { PASSWORD_MAX_LENGTH } from "../auth/passwords";

export const EMAIL_MAX_LENGTH = 254;
export const DISPLAY_NAME_MAX_LENGTH = 50;

/** A new address: must look like one. Logins take any string up to the length, so a typo is a 401, not a 422. */
export const EMAIL_PARAM = { type: "email", max: EMAIL_MAX_LENGTH, normalize: false } as const;
export const LOGIN_EMAIL_PARAM = { type: "string", min: 1, max: EMAIL_MAX_LENGTH } as const;
/** The strength policy is checked where a password is set; this only bounds what gets hashed. */
export const PASSWORD_PARAM = { type: "string", min: 1, max: PASSWORD_MAX_LENGTH } as const;
export const DISPLAY_NAME_PARAM = { type: "string", trim: true, min: 1, max: DISPLAY_NAME_MAX_LENGTH } as const;
