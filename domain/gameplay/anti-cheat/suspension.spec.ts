import { DEFAULT_SUSPENSION_POLICY, shouldSuspend } from "./suspension";

const now = Date.parse("2025-06-01T10:00:00Z");
const minutesAgo = (minutes: number) => now - minutes * 60_000;

describe("suspension", () => {
	it("suspends at the third flag within ten minutes by default", () => {
		expect(DEFAULT_SUSPENSION_POLICY).toEqual({ flagsToSuspend: 3, flagWindowMs: 600_000 });
		expect(shouldSuspend([], now)).toBe(false);
		expect(shouldSuspend([minutesAgo(4)], now)).toBe(false);
		expect(shouldSuspend([minutesAgo(9), minutesAgo(4)], now)).toBe(true);
	});

	it("counts the new flag itself, which the earlier flags do not include", () => {
		expect(shouldSuspend([], now, { flagsToSuspend: 1, flagWindowMs: 60_000 })).toBe(true);
		expect(shouldSuspend([now - 1_000], now, { flagsToSuspend: 2, flagWindowMs: 60_000 })).toBe(true);
	});

	it("keeps a flag exactly at the edge of the window and forgets one a millisecond older", () => {
		expect(shouldSuspend([now - 600_000, minutesAgo(1)], now)).toBe(true);
		expect(shouldSuspend([now - 600_001, minutesAgo(1)], now)).toBe(false);
	});

	it("forgets old flags however many there were", () => {
		expect(shouldSuspend([minutesAgo(60), minutesAgo(50), minutesAgo(40), minutesAgo(30), minutesAgo(11)], now)).toBe(false);
	});

	it("counts a flag stamped a little after now by a node whose clock runs ahead", () => {
		expect(shouldSuspend([now + 500, minutesAgo(2)], now)).toBe(true);
	});
});
