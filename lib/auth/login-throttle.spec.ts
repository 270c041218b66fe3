import { MemoryKeyspace, MemoryStore } from "../store/memory-store";
import { delayAfter, LoginThrottle, LoginThrottleOptions } from "./login-throttle";

const fast: LoginThrottleOptions = {
	account: { freeAttempts: 3, firstDelayMs: 200, maxDelayMs: 800, windowMs: 10_000 },
	address: { freeAttempts: 6, firstDelayMs: 200, maxDelayMs: 800, windowMs: 10_000 },
};

function throttle() {
	const store = new MemoryStore({ keyspace: new MemoryKeyspace(), keyPrefix: "t:" });
	return { store, throttle: new LoginThrottle(store, fast) };
}

describe("login throttle", () => {
	it("doubles the delay past the free attempts, up to the cap", () => {
		const rule = fast.account;
		expect([1, 2, 3, 4, 5, 6, 7, 8].map(n => delayAfter(n, rule))).toEqual([0, 0, 0, 200, 400, 800, 800, 800]);
	});

	it("locks an account after its free attempts, whatever the address or the email's case", async () => {
		const { throttle: t, store } = throttle();
		for (let i = 0; i < 3; i++) await t.recordFailure("Ada@Example.com", `10.0.0.${i}`);
		expect(await t.check("ada@example.com", "10.0.0.99")).toEqual({ allowed: true });
		await t.recordFailure(" ADA@example.com ", "10.0.0.50");
		const verdict = await t.check("ada@example.com", "10.0.0.51");
		expect(verdict.allowed).toBe(false);
		expect(verdict.allowed === false && verdict.retryAfterMs).toBeGreaterThan(100);
		await store.close();
	});

	it("lets the attempt through again once the delay has passed", async () => {
		const { throttle: t, store } = throttle();
		for (let i = 0; i < 4; i++) await t.recordFailure("bob@example.com", "10.0.0.1");
		expect((await t.check("bob@example.com", "10.0.0.1")).allowed).toBe(false);
		await new Promise(resolve => setTimeout(resolve, 250));
		expect(await t.check("bob@example.com", "10.0.0.1")).toEqual({ allowed: true });
		await store.close();
	});

	it("limits one address guessing many accounts", async () => {
		const { throttle: t, store } = throttle();
		for (let i = 0; i < 7; i++) await t.recordFailure(`user${i}@example.com`, "203.0.113.7");
		expect((await t.check("someone-new@example.com", "203.0.113.7")).allowed).toBe(false);
		expect(await t.check("someone-new@example.com", "198.51.100.1")).toEqual({ allowed: true });
		await store.close();
	});

	it("clears the account on success but not the address", async () => {
		const { throttle: t, store } = throttle();
		for (let i = 0; i < 7; i++) await t.recordFailure("carol@example.com", "203.0.113.8");
		await t.recordSuccess("carol@example.com");
		expect((await t.check("carol@example.com", "198.51.100.2")).allowed).toBe(true);
		expect((await t.check("carol@example.com", "203.0.113.8")).allowed).toBe(false);
		await store.close();
	});

	it("never stores the email itself", async () => {
		const keyspace = new MemoryKeyspace();
		const store = new MemoryStore({ keyspace, keyPrefix: "t:" });
		await new LoginThrottle(store, fast).recordFailure("dave@example.com", "10.1.1.1");
		const names = [...(keyspace as unknown as { entries: Map<string, unknown> }).entries.keys()];
		expect(names).toHaveLength(2);
		expect(names).toContain("t:login:addr:10.1.1.1:failures");
		expect(names.join(" ")).not.toContain("dave");
		expect(await store.get("login:addr:10.1.1.1:failures")).toBe("1");
		await store.close();
	});
});
