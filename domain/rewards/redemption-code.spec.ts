import { newRedemptionCode, readRedemptionCode } from "./redemption-code";

describe("redemption codes", () => {
	it("are 20 random symbols and a check, in groups of four, read back as themselves", () => {
		for (let i = 0; i < 200; i++) {
			const code = newRedemptionCode();
			expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}-[0-9A-HJKMNP-TV-Z*~$=U]$/);
			expect(readRedemptionCode(code)).toBe(code);
		}
	});

	it("forgive case, spaces, dashes and the letters that look like digits", () => {
		const code = newRedemptionCode(() => 0);
		expect(code).toBe("0000-0000-0000-0000-0000-0");
		expect(readRedemptionCode(" oooo 0000-OOOO 0o0O 0000 o ")).toBe(code);
		const ones = `0000-0000-1111-1111-1111-${checkOf("00000000111111111111")}`;
		expect(readRedemptionCode(`0000 0000 iiii llll IlIl ${ones.at(-1)}`.toLowerCase())).toBe(ones);
	});

	it("refuse any single mistyped symbol, and any two swapped neighbours among the random ones", () => {
		const code = newRedemptionCode();
		const symbols = code.replace(/-/g, "");
		let refused = 0;
		for (let i = 0; i < symbols.length; i++) {
			for (const other of "0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U") {
				if (other === symbols[i]) continue;
				expect(readRedemptionCode(symbols.slice(0, i) + other + symbols.slice(i + 1))).toBeUndefined();
				refused++;
			}
			if (i < symbols.length - 2 && symbols[i] !== symbols[i + 1]) {
				expect(readRedemptionCode(symbols.slice(0, i) + symbols[i + 1] + symbols[i] + symbols.slice(i + 2))).toBeUndefined();
				refused++;
			}
		}
		expect(refused).toBeGreaterThan(21 * 35);
	});

	it("refuse what cannot be a code, before any lookup", () => {
		for (const typed of ["", "ABC", "U".repeat(21), "0000-0000-0000-0000-0000", "0000-0000-0000-0000-0000-00", "ÄÖÜ", "0000-0000-0000-0000-000!-0"]) {
			expect(readRedemptionCode(typed)).toBeUndefined();
		}
	});

	it("draw every symbol about as often (no bias towards some)", () => {
		const counts = new Map<string, number>();
		for (let i = 0; i < 2000; i++) for (const symbol of newRedemptionCode().replace(/-/g, "").slice(0, 20)) counts.set(symbol, (counts.get(symbol) ?? 0) + 1);
		expect(counts.size).toBe(32);
		// 40,000 draws over 32 symbols: 1,250 each on average; ± 15 % is many standard deviations.
		for (const n of counts.values()) expect(Math.abs(n - 1250)).toBeLessThan(190);
	});
});

/** The check symbol the reader expects, found by asking it. */
function checkOf(body: string): string {
	for (const candidate of "0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U") if (readRedemptionCode(body + candidate)) return candidate;
	throw new Error("no check symbol fits");
}
