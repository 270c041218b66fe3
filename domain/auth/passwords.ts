/**
 * Password storage with argon2id from Node 24's own crypto, always through the asynchronous call
 * so hashing runs on the thread pool and never stalls the event loop. A hash is kept as a PHC
 * string carrying its parameters, so they can be raised later and old hashes upgraded at login.
 */
import { argon2, randomBytes, timingSafeEqual } from "node:crypto";
import { dictionary } from "@zxcvbn-ts/language-common";

export interface Argon2Params {
	memoryKiB: number;
	passes: number;
	parallelism: number;
}

/** OWASP's minimum for argon2id (m=19 MiB, t=2, p=1); nothing weaker is ever written. */
export const OWASP_MINIMUM: Argon2Params = { memoryKiB: 19_456, passes: 2, parallelism: 1 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;
const ARGON2_VERSION = 19;
const PHC = /^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export const PASSWORD_MIN_LENGTH = 10;
/** Long enough for any passphrase, short enough that nobody can make us hash megabytes. */
export const PASSWORD_MAX_LENGTH = 256;

function derive(password: string, salt: Buffer, params: Argon2Params, length: number): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		argon2("argon2id", { message: normalize(password), nonce: salt, parallelism: params.parallelism, tagLength: length, memory: params.memoryKiB, passes: params.passes }, (err, key) =>
			err ? reject(err) : resolve(key),
		);
	});
}

/** The same password typed on two keyboards (composed or decomposed accents) must match. */
function normalize(password: string): string {
	return password.normalize("NFKC");
}

const b64 = (bytes: Buffer) => bytes.toString("base64").replace(/=+$/, "");

export async function hashPassword(password: string, params: Argon2Params = OWASP_MINIMUM): Promise<string> {
	if (params.memoryKiB < OWASP_MINIMUM.memoryKiB || params.passes < OWASP_MINIMUM.passes || params.parallelism < 1) {
		throw new RangeError("argon2id parameters below the OWASP minimum");
	}
	const salt = randomBytes(SALT_BYTES);
	const hash = await derive(password, salt, params, HASH_BYTES);
	return `$argon2id$v=${ARGON2_VERSION}$m=${params.memoryKiB},t=${params.passes},p=${params.parallelism}$${b64(salt)}$${b64(hash)}`;
}

interface ParsedHash {
	params: Argon2Params;
	salt: Buffer;
	hash: Buffer;
}

function parse(encoded: string): ParsedHash | undefined {
	const match = PHC.exec(encoded);
	if (!match || Number(match[1]) !== ARGON2_VERSION) return undefined;
	const params = { memoryKiB: Number(match[2]), passes: Number(match[3]), parallelism: Number(match[4]) };
	const salt = Buffer.from(match[5], "base64");
	const hash = Buffer.from(match[6], "base64");
	if (salt.length < 8 || hash.length < 16 || params.memoryKiB < OWASP_MINIMUM.memoryKiB || params.passes < 1) return undefined;
	return { params, salt, hash };
}

/** False for a wrong password and for anything that is not a hash we would have written. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
	const parsed = parse(encoded);
	if (!parsed || password.length > PASSWORD_MAX_LENGTH) return false;
	const candidate = await derive(password, parsed.salt, parsed.params, parsed.hash.length);
	return timingSafeEqual(candidate, parsed.hash);
}

/** True when a stored hash used weaker parameters than today's: rehash it after a good login. */
export function needsRehash(encoded: string, params: Argon2Params = OWASP_MINIMUM): boolean {
	const parsed = parse(encoded);
	if (!parsed) return true;
	return parsed.params.memoryKiB < params.memoryKiB || parsed.params.passes < params.passes || parsed.params.parallelism !== params.parallelism;
}

export type PasswordProblem = "TOO_SHORT" | "TOO_LONG" | "TOO_COMMON" | "CONTAINS_PERSONAL_DATA";

const COMMON_PASSWORDS = new Set((dictionary["passwords-common"] as string[]).map(p => p.toLowerCase()));

/**
 * NIST 800-63B style: length and known-breached/common passwords matter; composition rules do not.
 * Returns every problem so a client can show them together.
 */
export function passwordProblems(password: string, personal: { email?: string; displayName?: string } = {}): PasswordProblem[] {
	const problems: PasswordProblem[] = [];
	const length = [...normalize(password)].length;
	if (length < PASSWORD_MIN_LENGTH) problems.push("TOO_SHORT");
	if (length > PASSWORD_MAX_LENGTH) problems.push("TOO_LONG");
	const lowered = password.toLowerCase();
	// Common passwords with a digit or two tacked on are just as guessable.
	if (COMMON_PASSWORDS.has(lowered) || COMMON_PASSWORDS.has(lowered.replace(/\d{1,4}$/, ""))) problems.push("TOO_COMMON");
	const personalWords = [personal.email?.split("@")[0], personal.displayName].filter((word): word is string => Boolean(word && word.length >= 4)).map(word => word.toLowerCase());
	if (personalWords.some(word => lowered.includes(word))) problems.push("CONTAINS_PERSONAL_DATA");
	return problems;
}
