import { DEFAULT_ANTI_CHEAT_POLICY } from "./fix";
import type { Fix } from "./fix";
import { futureTimestamp } from "./future-timestamp";

const now = Date.parse("2025-06-01T10:00:00Z");
const policy = DEFAULT_ANTI_CHEAT_POLICY;
const recordedAt = (ms: number): Fix => ({ lat: 48.8584, lon: 2.2945, accuracy: 5, recordedAt: ms });

describe("future timestamp", () => {
	it("accepts a fix dated now or in the past (sent late after a loss of signal)", () => {
		expect(futureTimestamp(recordedAt(now), now, policy)).toBeUndefined();
		expect(futureTimestamp(recordedAt(now - 3_600_000), now, policy)).toBeUndefined();
	});

	it("tolerates a phone clock up to the skew ahead, not a millisecond more", () => {
		expect(futureTimestamp(recordedAt(now + 30_000), now, policy)).toBeUndefined();
		expect(futureTimestamp(recordedAt(now + 30_001), now, policy)).toEqual({
			code: "FUTURE_TIMESTAMP",
			evidence: { recordedAt: "2025-06-01T10:00:30.001Z", serverTime: "2025-06-01T10:00:00.000Z", aheadMs: 30_001 },
		});
	});

	it("follows the policy's skew", () => {
		expect(futureTimestamp(recordedAt(now + 5_001), now, { clockSkewMs: 5_000 })?.evidence.aheadMs).toBe(5_001);
		expect(futureTimestamp(recordedAt(now + 5_000), now, { clockSkewMs: 5_000 })).toBeUndefined();
	});

	it("flags a timestamp too far ahead for a Date without throwing", () => {
		const forged = 8.64e15 + 1;
		expect(futureTimestamp(recordedAt(forged), now, policy)?.evidence).toMatchObject({ recordedAt: "8640000000000001", aheadMs: forged - now });
	});
});
