import { closingOf, timeUp } from "./closing";

const JOINED = Date.UTC(2026, 5, 1, 10, 0);
const minutes = (n: number) => n * 60_000;

describe("closing", () => {
	it("closes at the hunt's end when there is no time limit", () => {
		const window = { endsAt: JOINED + minutes(600), timeLimitMinutes: null };
		expect(closingOf(window, JOINED)).toEqual({ at: JOINED + minutes(600), by: "hunt_end" });
		expect(timeUp(window, JOINED, JOINED + minutes(600) - 1)).toBeUndefined();
		expect(timeUp(window, JOINED, JOINED + minutes(600))).toBe("hunt_end");
	});

	it("closes when the player's limit, counted from joining, runs out before the hunt ends", () => {
		const window = { endsAt: JOINED + minutes(600), timeLimitMinutes: 90 };
		expect(closingOf(window, JOINED)).toEqual({ at: JOINED + minutes(90), by: "time_limit" });
		expect(timeUp(window, JOINED, JOINED + minutes(90) - 1)).toBeUndefined();
		expect(timeUp(window, JOINED, JOINED + minutes(90))).toBe("time_limit");
		// A later joiner's limit runs from their own start.
		expect(timeUp(window, JOINED + minutes(60), JOINED + minutes(100))).toBeUndefined();
	});

	it("lets the hunt's end cut a late joiner's limit short", () => {
		const window = { endsAt: JOINED + minutes(30), timeLimitMinutes: 90 };
		expect(closingOf(window, JOINED)).toEqual({ at: JOINED + minutes(30), by: "hunt_end" });
		expect(timeUp(window, JOINED, JOINED + minutes(45))).toBe("hunt_end");
	});

	it("names the hunt's end when both fall at the same instant", () => {
		expect(closingOf({ endsAt: JOINED + minutes(90), timeLimitMinutes: 90 }, JOINED)).toEqual({ at: JOINED + minutes(90), by: "hunt_end" });
	});
});
