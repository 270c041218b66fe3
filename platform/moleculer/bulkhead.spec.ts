import { Errors, ServiceBroker } from "moleculer";
import { LeanBulkheadMiddleware } from "./bulkhead";

function brokerWithBulkhead(): { broker: ServiceBroker; started: number[]; release(): void } {
	const started: number[] = [];
	let releases: Array<() => void> = [];
	const broker = new ServiceBroker({
		logger: false,
		skipProcessEventRegistration: true,
		bulkhead: { enabled: true, concurrency: 2, maxQueueSize: 2 },
		metrics: { enabled: true, reporter: [] },
		internalMiddlewares: false,
		middlewares: [LeanBulkheadMiddleware] as never,
	});
	broker.createService({
		name: "work",
		actions: {
			hold: (ctx: { params: { n: number } }) => {
				started.push(ctx.params.n);
				return new Promise<number>(resolve => releases.push(() => resolve(ctx.params.n)));
			},
			free: { bulkhead: { enabled: false }, handler: () => "free" },
		},
	});
	return {
		broker,
		started,
		release: () => {
			const now = releases;
			releases = [];
			for (const release of now) release();
		},
	};
}

const flush = () => new Promise(resolve => setImmediate(resolve));
const gauge = (broker: ServiceBroker, name: string) =>
	(broker.metrics.getMetric(name)!.snapshot() as unknown as Array<{ labels: object; value: number }>).map(({ labels, value }) => ({ labels, value }));

it("runs `concurrency` calls at once, queues `maxQueueSize` more in order and refuses the next with QueueIsFullError", async () => {
	const { broker, started, release } = brokerWithBulkhead();
	await broker.start();
	const calls = [1, 2, 3, 4, 5].map(n =>
		broker.call("work.hold", { n }).then(
			value => ({ value }),
			(err: unknown) => ({ err }),
		),
	);
	await flush();
	expect(started).toEqual([1, 2]);
	expect(await calls[4]).toEqual({ err: expect.any(Errors.QueueIsFullError) });
	expect(((await calls[4]) as { err: Errors.MoleculerError }).err.code).toBe(429);
	// While two run and two wait, the gauges (published once a second) say so.
	await new Promise(resolve => setTimeout(resolve, 1100));
	expect(gauge(broker, "moleculer.request.bulkhead.inflight")).toEqual([{ labels: { action: "work.hold", service: "work" }, value: 2 }]);
	expect(gauge(broker, "moleculer.request.bulkhead.queue.size")).toEqual([{ labels: { action: "work.hold", service: "work" }, value: 2 }]);
	release();
	await flush();
	expect(started).toEqual([1, 2, 3, 4]);
	release();
	expect(await Promise.all(calls.slice(0, 4))).toEqual([{ value: 1 }, { value: 2 }, { value: 3 }, { value: 4 }]);
	// An action that opts out is never held back.
	await expect(broker.call("work.free")).resolves.toBe("free");
	await broker.stop();
	expect(gauge(broker, "moleculer.request.bulkhead.inflight")).toEqual([{ labels: { action: "work.hold", service: "work" }, value: 0 }]);
	expect(gauge(broker, "moleculer.request.bulkhead.queue.size")).toEqual([{ labels: { action: "work.hold", service: "work" }, value: 0 }]);
});

it("lets a queued call through when a running one fails", async () => {
	const broker = new ServiceBroker({
		logger: false,
		skipProcessEventRegistration: true,
		bulkhead: { enabled: true, concurrency: 1, maxQueueSize: 5 },
		internalMiddlewares: false,
		middlewares: [LeanBulkheadMiddleware] as never,
	});
	broker.createService({ name: "work", actions: { fail: () => Promise.reject(new Error("boom")), ok: () => "ok" } });
	await broker.start();
	const failing = broker.call("work.fail").catch((err: Error) => err.message);
	const failingToo = broker.call("work.fail").catch((err: Error) => err.message);
	expect(await Promise.all([failing, failingToo])).toEqual(["boom", "boom"]);
	await expect(broker.call("work.ok")).resolves.toBe("ok");
	await broker.stop();
});
