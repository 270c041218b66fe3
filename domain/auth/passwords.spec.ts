import { hashPassword, needsRehash, OWASP_MINIMUM, passwordProblems, verifyPassword } from "./passwords";

describe("password hashing (argon2id)", () => {
	it("verifies the right password and refuses a wrong one", async () => {
		const stored = await hashPassword("correct horse battery staple");
		expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
		expect(await verifyPassword("correct horse battery staple", stored)).toBe(true);
		expect(await verifyPassword("correct horse battery stapler", stored)).toBe(false);
	});

	it("salts every hash", async () => {
		const [a, b] = await Promise.all([hashPassword("same password twice"), hashPassword("same password twice")]);
		expect(a).not.toBe(b);
	});

	it("matches the same password whatever its Unicode composition", async () => {
		const composed = "caf\u00e9 au lait du matin";
		const decomposed = "cafe\u0301 au lait du matin";
		expect(await verifyPassword(decomposed, await hashPassword(composed))).toBe(true);
	});

	it("hashes off the event loop", async () => {
		const order: string[] = [];
		const hashing = hashPassword("a long enough password").then(() => order.push("hashed"));
		setImmediate(() => order.push("event loop turned"));
		await hashing;
		expect(order[0]).toBe("event loop turned");
	});

	it("refuses parameters below the OWASP minimum and tampered or foreign hashes", async () => {
		await expect(hashPassword("a long enough password", { ...OWASP_MINIMUM, memoryKiB: 1024 })).rejects.toThrow(RangeError);
		const stored = await hashPassword("a long enough password");
		const weakened = stored.replace("m=19456", "m=8");
		expect(await verifyPassword("a long enough password", weakened)).toBe(false);
		// Change the second-to-last character (the last one's low bits may be padding).
		const flipped = stored.slice(0, -2) + (stored.at(-2) === "A" ? "B" : "A") + stored.slice(-1);
		expect(await verifyPassword("a long enough password", flipped)).toBe(false);
		expect(await verifyPassword("x", "$2b$10$abcdefghijklmnopqrstuv")).toBe(false);
		expect(await verifyPassword("x", "")).toBe(false);
	});

	it("asks for a rehash when today's parameters are stronger", async () => {
		const stored = await hashPassword("a long enough password");
		expect(needsRehash(stored)).toBe(false);
		expect(needsRehash(stored, { ...OWASP_MINIMUM, memoryKiB: 65_536 })).toBe(true);
		expect(needsRehash("not a hash")).toBe(true);
	});
});

describe("password policy", () => {
	it("accepts a long uncommon passphrase", () => {
		expect(passwordProblems("treasure maps under the old bridge")).toEqual([]);
	});

	it("reports every problem at once", () => {
		expect(passwordProblems("zq7!Wk")).toEqual(["TOO_SHORT"]);
		expect(passwordProblems("dragon")).toEqual(["TOO_SHORT", "TOO_COMMON"]);
		expect(passwordProblems("x".repeat(300))).toEqual(["TOO_LONG"]);
		expect(passwordProblems("password123")).toEqual(["TOO_COMMON"]);
		expect(passwordProblems("Qwertyuiop")).toEqual(["TOO_COMMON"]);
		expect(passwordProblems("ada.lovelace-rocks", { email: "ada.lovelace@example.com" })).toEqual(["CONTAINS_PERSONAL_DATA"]);
	});

	it("counts characters, not bytes", () => {
		expect(passwordProblems("ééééééééééé")).not.toContain("TOO_SHORT");
	});
});
