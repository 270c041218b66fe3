import { decideAttempt, DEFAULT_ATTEMPT_POLICY } from "./answer-attempts";

const now = Date.parse("2026-06-01T12:00:00Z");
const secondsAgo = (...seconds: number[]) => seconds.map(s => now - s * 1000);
const policy = { maxWrongAnswers: 3, windowMs: 60_000 };

describe("decideAttempt", () => {
	it("allows answers until the limit of wrong ones within the window", () => {
		expect(decideAttempt([], now, policy)).toEqual({ allowed: true });
		expect(decideAttempt(secondsAgo(30, 20), now, policy)).toEqual({ allowed: true });
	});

	it("refuses at the limit until the oldest wrong answer in the window leaves it", () => {
		expect(decideAttempt(secondsAgo(50, 20, 10), now, policy)).toEqual({ allowed: false, retryAfterSeconds: 10 });
	});

	it("forgets wrong answers older than the window", () => {
		expect(decideAttempt(secondsAgo(60, 61, 3600, 20, 10), now, policy)).toEqual({ allowed: true });
	});

	it("waits for enough of them to leave when there are more than the limit", () => {
		// Five in the window (another node let two more through at once): the third newest must leave.
		expect(decideAttempt(secondsAgo(55, 40, 30, 20, 10), now, policy)).toEqual({ allowed: false, retryAfterSeconds: 30 });
	});

	it("never asks to wait less than a second", () => {
		expect(decideAttempt([now - 59_999, now - 1, now], now, policy)).toEqual({ allowed: false, retryAfterSeconds: 1 });
	});

	it("allows five wrong answers in ten minutes by default", () => {
		const fiveInNineMinutes = secondsAgo(540, 400, 300, 200, 100);
		expect(decideAttempt(fiveInNineMinutes.slice(1), now)).toEqual({ allowed: true });
		expect(decideAttempt(fiveInNineMinutes, now)).toEqual({ allowed: false, retryAfterSeconds: DEFAULT_ATTEMPT_POLICY.windowMs / 1000 - 540 });
	});
});
