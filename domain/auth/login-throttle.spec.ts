import { MemoryKeyspace, MemoryStore } from "../../platform/store/memory-store";
import { delayAfter, LoginThrottle, LoginThrottleOptions } from "./login-throttle";

const fast: LoginThrottleOptions = {
	account: { freeAttempts: 3, firstDelayMs: 200, maxDelayMs: 800, windowMs: 10_000 },
	address: { freeAttempts: 6, firstDelayMs: 200, maxDelayMs: 800, windowMs: 10_000 },
	refresh: { freeAttempts: 2, firstDelayMs: 200, maxDelayMs: 800, windowMs: 10_000 },
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

	// Every begin() below that is not followed by recordSuccess stands for a wrong password.
	it("locks an account after its free attempts, whatever the address or the email's case", async () => {
		const { throttle: t, store } = throttle();
		for (let i = 0; i < 3; i++) expect(await t.begin("Ada@Example.com", `10.0.0.${i}`)).toEqual({ allowed: true });
		// The fourth attempt sets the lock and may still go ahead; the next one waits.
		expect(await t.begin(" ADA@example.com ", "10.0.0.50")).toEqual({ allowed: true });
		const verdict = await t.begin("ada@example.com", "10.0.0.51");
		expect(verdict.allowed).toBe(false);
		expect(verdict.allowed === false && verdict.retryAfterMs).toBeGreaterThan(100);
		await store.close();
	});

	it("lets one attempt through again once the delay has passed, with a longer delay after it", async () => {
		const { throttle: t, store } = throttle();
		for (let i = 0; i < 4; i++) await t.begin("bob@example.com", "10.0.0.1");
		expect((await t.begin("bob@example.com", "10.0.0.1")).allowed).toBe(false);
		await new Promise(resolve => setTimeout(resolve, 250));
		expect(await t.begin("bob@example.com", "10.0.0.1")).toEqual({ allowed: true });
		const next = await t.begin("bob@example.com", "10.0.0.1");
		expect(next.allowed === false && next.retryAfterMs).toBeGreaterThan(250);
		await store.close();
	});

	it("lets only the free attempts and one more through when a burst arrives at once", async () => {
		const { throttle: t, store } = throttle();
		const verdicts = await Promise.all(Array.from({ length: 40 }, (_, i) => t.begin("erin@example.com", `10.9.0.${i}`)));
		expect(verdicts.filter(v => v.allowed)).toHaveLength(fast.account.freeAttempts + 1);
		await store.close();
	});

	it("limits one address guessing many accounts", async () => {
		const { throttle: t, store } = throttle();
		for (let i = 0; i < 7; i++) await t.begin(`user${i}@example.com`, "203.0.113.7");
		expect((await t.begin("someone-new@example.com", "203.0.113.7")).allowed).toBe(false);
		expect(await t.begin("someone-new@example.com", "198.51.100.1")).toEqual({ allowed: true });
		await store.close();
	});

	it("clears the account on success, and gives the address back only that attempt", async () => {
		const { throttle: t, store } = throttle();
		for (let i = 0; i < 3; i++) await t.begin("carol@example.com", "203.0.113.8");
		expect(await t.begin("carol@example.com", "203.0.113.8")).toEqual({ allowed: true });
		await t.recordSuccess("carol@example.com", "203.0.113.8");
		expect(await t.begin("carol@example.com", "198.51.100.2")).toEqual({ allowed: true });
		expect(await store.get("login:addr:203.0.113.8:failures")).toBe("3");
		await store.close();
	});

	it("counts an IPv6 client's whole /64 as one address", async () => {
		const { throttle: t, store } = throttle();
		for (let i = 0; i < 7; i++) await t.begin(`v6user${i}@example.com`, `2001:db8:7:7::${i + 1}`);
		expect((await t.begin("someone@example.com", "2001:db8:7:7:dead:beef::1")).allowed).toBe(false);
		expect(await t.begin("someone@example.com", "2001:db8:7:8::1")).toEqual({ allowed: true });
		await store.close();
	});

	it("never stores the email itself", async () => {
		const keyspace = new MemoryKeyspace();
		const store = new MemoryStore({ keyspace, keyPrefix: "t:" });
		await new LoginThrottle(store, fast).begin("dave@example.com", "10.1.1.1");
		const names = [...(keyspace as unknown as { entries: Map<string, unknown> }).entries.keys()];
		expect(names).toHaveLength(2);
		expect(names).toContain("t:login:addr:10.1.1.1:failures");
		expect(names.join(" ")).not.toContain("dave");
		expect(await store.get("login:addr:10.1.1.1:failures")).toBe("1");
		await store.close();
	});

	it("throttles failed refreshes per address, letting a burst through only once per lock", async () => {
		const { throttle: t } = throttle();
		// Two free failures, then one attempt per lock period.
		expect(await t.beginRefresh("198.51.100.7")).toEqual({ allowed: true });
		expect(await t.beginRefresh("198.51.100.7")).toEqual({ allowed: true });
		const burst = await Promise.all([1, 2, 3].map(() => t.beginRefresh("198.51.100.7")));
		expect(burst.filter(v => v.allowed)).toHaveLength(1);
		expect(burst.filter(v => !v.allowed)).toEqual([expect.objectContaining({ allowed: false }), expect.objectContaining({ allowed: false })]);
		// Another address is not affected.
		expect(await t.beginRefresh("203.0.113.9")).toEqual({ allowed: true });
	});
});
