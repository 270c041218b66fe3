import type { Fix } from "./fix";
import { timeWentBackwards } from "./time-went-backwards";

const previous: Fix = { lat: 48.8584, lon: 2.2945, accuracy: 5, recordedAt: Date.parse("2025-06-01T10:00:00Z") };
const at = (recordedAt: number): Fix => ({ ...previous, lat: previous.lat + 0.0001, recordedAt });

describe("time went backwards", () => {
	it("has nothing to compare a participation's first fix with", () => {
		expect(timeWentBackwards(undefined, previous)).toBeUndefined();
	});

	it("accepts a later fix, and leaves one at the same instant to the replay rule", () => {
		expect(timeWentBackwards(previous, at(previous.recordedAt + 1))).toBeUndefined();
		expect(timeWentBackwards(previous, at(previous.recordedAt))).toBeUndefined();
	});

	it("flags a fix a single millisecond older than the last accepted one", () => {
		expect(timeWentBackwards(previous, at(previous.recordedAt - 1))).toEqual({
			code: "TIME_WENT_BACKWARDS",
			evidence: { recordedAt: "2025-06-01T09:59:59.999Z", previousRecordedAt: "2025-06-01T10:00:00.000Z", behindMs: 1 },
		});
	});

	it("flags a track replayed from yesterday", () => {
		expect(timeWentBackwards(previous, at(previous.recordedAt - 86_400_000))?.evidence.behindMs).toBe(86_400_000);
	});
});
