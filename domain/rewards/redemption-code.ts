/**
 * The code a player shows to redeem a reward: read aloud at a counter or typed from a phone, so it
 * must survive both. Crockford's base 32 (digits and letters without I, L, O, U: nothing that reads
 * as another, no accidental words), 20 random symbols (100 bits: guessing one among a million live
 * codes takes 2^80 tries on average) and one check symbol that catches any single mistyped symbol
 * and any two swapped neighbours among the random ones (37 is prime), shown in groups of four: `7K3M-Q9XD-2TZB-H4NW-R8CF-J`.
 *
 * Reading is forgiving where it cannot be wrong: any case, any spaces or dashes, O for 0, I and L
 * for 1; a code that is still not one of ours is refused before any lookup.
 */
import { randomInt } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Crockford's check symbols: the 32 above and five more, for a checksum modulo 37 (a prime). */
const CHECK_ALPHABET = `${ALPHABET}*~$=U`;
const RANDOM_SYMBOLS = 20;
const GROUP = 4;

/** A new code, from the operating system's cryptographic randomness. */
export function newRedemptionCode(random: (max: number) => number = randomInt): string {
	let symbols = "";
	for (let i = 0; i < RANDOM_SYMBOLS; i++) symbols += ALPHABET[random(ALPHABET.length)];
	return group(symbols + checkSymbol(symbols));
}

/**
 * The code as stored (its canonical form, grouped), from what a person typed; undefined when it
 * cannot be a code of ours (wrong length, a foreign symbol, a check that does not match).
 */
export function readRedemptionCode(typed: string): string | undefined {
	const symbols = typed.toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
	if (symbols.length !== RANDOM_SYMBOLS + 1) return undefined;
	const body = symbols.slice(0, RANDOM_SYMBOLS);
	if (![...body].every(symbol => ALPHABET.includes(symbol))) return undefined;
	if (symbols[RANDOM_SYMBOLS] !== checkSymbol(body)) return undefined;
	return group(symbols);
}

function checkSymbol(symbols: string): string {
	// The number the symbols spell in base 32, modulo 37, a digit at a time (it has 100 bits).
	let remainder = 0;
	for (const symbol of symbols) remainder = (remainder * 32 + ALPHABET.indexOf(symbol)) % 37;
	return CHECK_ALPHABET[remainder];
}

function group(symbols: string): string {
	return symbols.match(new RegExp(`.{1,${GROUP}}`, "g"))!.join("-");
}
