import { MemoryStore } from "../store/memory-store";
import { SharedRateLimitStore } from "./rate-limit-store";

describe("SharedRateLimitStore", () => {
	it("counts per key inside fixed windows and starts again in the next one", async () => {
		let now = 120_000;
		const shared = new MemoryStore();
		// Two gateway nodes on one store see one count.
		const nodeA = new SharedRateLimitStore(shared, 60_000, () => now);
		const nodeB = new SharedRateLimitStore(shared, 60_000, () => now);
		expect(await nodeA.inc("203.0.113.1")).toBe(1);
		expect(await nodeB.inc("203.0.113.1")).toBe(2);
		expect(await nodeA.inc("198.51.100.2")).toBe(1);
		expect(nodeA.resetTime).toBe(180_000);
		now = 170_500;
		expect(nodeA.secondsToReset()).toBe(10);
		now = 180_000;
		expect(await nodeB.inc("203.0.113.1")).toBe(1);
		await shared.close();
	});
});
