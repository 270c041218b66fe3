import { MemoryStore } from "../store/memory-store";
import type { KeyValueStore } from "../store/types";
import { SharedRateLimitStore } from "./rate-limit-store";

const WINDOW = 60_000;

describe("SharedRateLimitStore", () => {
	let shared: MemoryStore;
	let test = 0;
	beforeEach(() => {
		// Memory stores of one process share one keyspace, as clients of one Redis do.
		shared = new MemoryStore({ keyPrefix: `rate-limit-spec-${++test}:` });
	});
	afterEach(() => shared.close());

	it("counts a small limit exactly on every request, per key, across nodes, and starts again in the next window", async () => {
		let now = 120_000;
		// Two gateway nodes on one store see one count.
		const nodeA = new SharedRateLimitStore(shared, WINDOW, 5, () => now);
		const nodeB = new SharedRateLimitStore(shared, WINDOW, 5, () => now);
		expect(await nodeA.inc("203.0.113.1")).toBe(1);
		expect(await nodeB.inc("203.0.113.1")).toBe(2);
		expect(await nodeA.inc("198.51.100.2")).toBe(1);
		expect(await shared.get("ratelimit:2:203.0.113.1")).toBe("2");
		expect(nodeA.resetTime).toBe(180_000);
		now = 170_500;
		expect(nodeA.secondsToReset()).toBe(10);
		now = 180_000;
		expect(await nodeB.inc("203.0.113.1")).toBe(1);
		nodeA.close();
		nodeB.close();
	});

	it("answers a client far from a large limit from memory and tells the store in one batch", async () => {
		const node = new SharedRateLimitStore(shared, WINDOW, 1000, () => 0);
		const counts = [];
		for (let i = 0; i < 50; i++) counts.push(node.inc("203.0.113.1"));
		// Plain numbers, not promises: no round trip was made.
		expect(counts).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
		expect(await shared.get("ratelimit:0:203.0.113.1")).toBeNull();
		await node.settleAll();
		expect(await shared.get("ratelimit:0:203.0.113.1")).toBe("50");
		node.close();
	});

	it("holds the limit across two nodes within a tenth of it per node, with requests interleaved at random", async () => {
		const limit = 100;
		const nodes = [new SharedRateLimitStore(shared, WINDOW, limit, () => 0), new SharedRateLimitStore(shared, WINDOW, limit, () => 0)];
		let admitted = 0;
		let seed = 7;
		const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
		for (let i = 0; i < 400; i++) {
			const count = await nodes[random() < 0.5 ? 0 : 1].inc("203.0.113.1");
			if (count <= limit) admitted++;
			if (i % 37 === 0) await Promise.all(nodes.map(node => node.settleAll()));
		}
		expect(admitted).toBeGreaterThanOrEqual(limit);
		expect(admitted).toBeLessThanOrEqual(limit + 2 * (limit / 10));
		// Once both nodes have settled, every further request is refused.
		await Promise.all(nodes.map(node => node.settleAll()));
		expect(await nodes[0].inc("203.0.113.1")).toBeGreaterThan(limit);
		expect(await nodes[1].inc("203.0.113.1")).toBeGreaterThan(limit);
		for (const node of nodes) node.close();
	});

	it("keeps what it could not settle while the store is down and sends it at the next settlement", async () => {
		let down = true;
		const flaky: KeyValueStore = Object.create(shared, {
			incr: { value: (key: string, opts: object) => (down ? Promise.reject(new Error("store down")) : shared.incr(key, opts)) },
		});
		const errors: unknown[] = [];
		const node = new SharedRateLimitStore(
			flaky,
			WINDOW,
			1000,
			() => 0,
			err => errors.push(err),
		);
		for (let i = 0; i < 20; i++) node.inc("203.0.113.1");
		await node.settleAll();
		expect(errors).toHaveLength(1);
		down = false;
		await node.settleAll();
		expect(await shared.get("ratelimit:0:203.0.113.1")).toBe("20");
		node.close();
	});

	it("holds the limit on one node when a burst arrives while its counts are on their way to a slow store", async () => {
		const slow: KeyValueStore = Object.create(shared, {
			incr: { value: (key: string, opts: object) => new Promise(resolve => setTimeout(resolve, 5)).then(() => shared.incr(key, opts)) },
		});
		for (const limit of [100, 1000]) {
			const node = new SharedRateLimitStore(slow, WINDOW, limit, () => 0);
			const key = `burst-${limit}`;
			const counts = await Promise.all(
				Array.from({ length: limit * 3 }, async (_, i) => {
					if (i % 50 === 0) await node.settleAll();
					return node.inc(key);
				}),
			);
			expect({ limit, admitted: counts.filter(count => count <= limit).length }).toEqual({ limit, admitted: limit });
			node.close();
		}
	});
});
