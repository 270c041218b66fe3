/**
 * Challenge answers: kept so an answer can be checked, never so it can be read back. What is stored
 * is a salted scrypt hash of the normalised answer; players' attempts are normalised the same way
 * before the comparison, so "  Tour EIFFEL " matches "tour eiffel" and "Tour Eiffél".
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** Case, accents and spacing do not count; punctuation inside words does ("o'neil" ≠ "oneil"). */
export function normaliseAnswer(answer: string): string {
	return answer.normalize("NFKD").replace(/\p{M}/gu, "").toLocaleLowerCase("en").replace(/\s+/gu, " ").trim();
}

const SCRYPT = { N: 1 << 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;

function derive(answer: string, salt: Buffer): Promise<Buffer> {
	return new Promise((resolve, reject) => scrypt(normaliseAnswer(answer), salt, KEY_LENGTH, SCRYPT, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `scrypt$<salt>$<hash>`, both base64url. */
export async function hashAnswer(answer: string): Promise<string> {
	const salt = randomBytes(16);
	return `scrypt$${salt.toString("base64url")}$${(await derive(answer, salt)).toString("base64url")}`;
}

export async function answerMatches(attempt: string, stored: string): Promise<boolean> {
	const [scheme, salt, hash] = stored.split("$");
	if (scheme !== "scrypt" || !salt || !hash) return false;
	const expected = Buffer.from(hash, "base64url");
	const actual = await derive(attempt, Buffer.from(salt, "base64url"));
	return actual.length === expected.length && timingSafeEqual(actual, expected);
}
