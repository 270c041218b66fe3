import { answerMatches, hashAnswer, normaliseAnswer } from "./answers";

it("ignores case, accents and spacing, not the letters", () => {
	expect(normaliseAnswer("  Tour   EIFFEL \t")).toBe("tour eiffel");
	expect(normaliseAnswer("Crème Brûlée")).toBe("creme brulee");
	expect(normaliseAnswer("ＡＢＣ")).toBe("abc");
	expect(normaliseAnswer("o'neil")).not.toBe(normaliseAnswer("oneil"));
});

it("checks an attempt against the stored hash, which does not contain the answer", async () => {
	const stored = await hashAnswer("Tour Eiffel");
	expect(stored).not.toMatch(/eiffel/i);
	expect(await answerMatches("tour eiffél", stored)).toBe(true);
	expect(await answerMatches("tour montparnasse", stored)).toBe(false);
	expect(await hashAnswer("Tour Eiffel")).not.toBe(stored);
	expect(await answerMatches("anything", "plain text")).toBe(false);
});
