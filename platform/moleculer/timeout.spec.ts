import { Errors, ServiceBroker } from "moleculer";
import { SweptTimeoutMiddleware, TIMEOUT_SWEEP_MS } from "./timeout";

let timeouts: { waitingLengths(): number } | undefined;

function broker(): ServiceBroker {
	const middleware = (b: ServiceBroker) => (timeouts = SweptTimeoutMiddleware(b) as unknown as { waitingLengths(): number });
	const b = new ServiceBroker({ logger: false, skipProcessEventRegistration: true, requestTimeout: 0, internalMiddlewares: false, middlewares: [middleware] as never });
	b.createService({
		name: "work",
		actions: {
			wait: { handler: ctx => new Promise(resolve => setTimeout(() => resolve("done"), (ctx.params as { ms: number }).ms)) },
			refuse: () => Promise.reject(new Errors.MoleculerClientError("no", 409, "REFUSED")),
			bounded: { timeout: 50, handler: () => new Promise(resolve => setTimeout(() => resolve("late"), 400)) },
		},
	});
	return b;
}

describe("swept request timeouts", () => {
	const node = broker();
	beforeAll(() => node.start());
	afterAll(() => node.stop());

	it("rejects a call still running at its deadline with Moleculer's RequestTimeoutError, within one sweep of it", async () => {
		const started = performance.now();
		const err = await node.call("work.wait", { ms: 500 }, { timeout: 100 }).catch((e: unknown) => e);
		const elapsed = performance.now() - started;
		expect(err).toBeInstanceOf(Errors.RequestTimeoutError);
		expect(err).toMatchObject({ code: 504, data: { action: "work.wait" } });
		expect(elapsed).toBeGreaterThanOrEqual(99);
		expect(elapsed).toBeLessThan(100 + TIMEOUT_SWEEP_MS + 150);
	});

	it("answers a call that ends in time, and passes its refusal through unchanged", async () => {
		await expect(node.call("work.wait", { ms: 10 }, { timeout: 1000 })).resolves.toBe("done");
		await expect(node.call("work.refuse", {}, { timeout: 1000 })).rejects.toMatchObject({ code: 409, type: "REFUSED" });
	});

	it("keeps each call's own deadline when calls with different timeouts overlap", async () => {
		const results = await Promise.all([
			node.call("work.wait", { ms: 300 }, { timeout: 100 }).then(
				() => "answered",
				() => "timed out",
			),
			node.call("work.wait", { ms: 150 }, { timeout: 1000 }).then(
				() => "answered",
				() => "timed out",
			),
			node.call("work.wait", { ms: 20 }, { timeout: 100 }).then(
				() => "answered",
				() => "timed out",
			),
			node.call("work.bounded").then(
				() => "answered",
				() => "timed out",
			),
		]);
		expect(results).toEqual(["timed out", "answered", "answered", "timed out"]);
	});

	it("applies no timeout when none is set", async () => {
		await expect(node.call("work.wait", { ms: 60 })).resolves.toBe("done");
	});

	it("keeps no list for a timeout length once its calls have ended (nested calls pass on fractional remainders)", async () => {
		await Promise.all(Array.from({ length: 500 }, (_, i) => node.call("work.wait", { ms: 1 }, { timeout: 1000 + i + 0.5 })));
		await node.call("work.wait", { ms: 200 }, { timeout: 50 }).catch(() => undefined);
		expect(timeouts!.waitingLengths()).toBe(0);
	});
});
