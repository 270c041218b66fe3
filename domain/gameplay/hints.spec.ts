import { isAppError } from "../../platform/errors/app-error";
import { nextHint } from "./hints";

const hints = [
	{ text: "Look up", cost: 5 },
	{ text: "Near the clock", cost: 10 },
];

describe("nextHint", () => {
	it("gives the hints in the order they were written", () => {
		expect(nextHint(hints, 0)).toEqual({ text: "Look up", cost: 5 });
		expect(nextHint(hints, 1)).toEqual({ text: "Near the clock", cost: 10 });
	});

	it("answers 409 NO_MORE_HINTS once all were taken, or when there are none", () => {
		for (const [list, taken] of [
			[hints, 2],
			[[], 0],
		] as const) {
			try {
				nextHint(list, taken);
				throw new Error("a hint was given");
			} catch (err) {
				expect(isAppError(err, "NO_MORE_HINTS")).toBe(true);
				expect((err as { data?: unknown }).data).toEqual({ taken: list.length, available: list.length });
			}
		}
	});
});
