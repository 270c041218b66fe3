import { Errors, ServiceBroker } from "moleculer";
import { AggregatedMetricsMiddleware } from "./metrics";

type Item = { labels: Record<string, unknown>; value?: number; count?: number; sum?: number; buckets?: Record<string, number> };

/** A broker with Moleculer's Metrics middleware (stock) or ours in its place; nothing else differs. */
function brokerWith(metricsMiddleware: "stock" | "aggregated"): ServiceBroker {
	const broker = new ServiceBroker({
		logger: false,
		skipProcessEventRegistration: true,
		metrics: { enabled: true, reporter: [], defaultQuantiles: null as unknown as number[] },
		...(metricsMiddleware === "aggregated" ? { internalMiddlewares: false, middlewares: ["Validator", "ErrorHandler", AggregatedMetricsMiddleware] as never } : {}),
	});
	broker.createService({
		name: "work",
		actions: {
			quick: () => "done",
			slow: () => new Promise(resolve => setTimeout(() => resolve("done"), 30)),
			refuse: () => Promise.reject(new Errors.MoleculerClientError("no", 409, "REFUSED")),
			nested: ctx => ctx.call("work.quick"),
		},
	});
	return broker;
}

async function workload(broker: ServiceBroker): Promise<void> {
	for (let i = 0; i < 5; i++) await broker.call("work.quick");
	await Promise.all([broker.call("work.slow"), broker.call("work.slow")]);
	for (let i = 0; i < 3; i++) await broker.call("work.refuse").catch(() => undefined);
	await broker.call("work.nested");
}

function series(broker: ServiceBroker, name: string): Item[] {
	const items = broker.metrics.getMetric(name)!.snapshot() as unknown as Item[];
	return items
		.map(({ labels, value, count, buckets }) => ({ labels, ...(value !== undefined ? { value } : {}), ...(count !== undefined ? { count, buckets } : {}) }))
		.sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)));
}

const withoutBuckets = ({ buckets: _buckets, ...item }: Item) => item;

const NAMES = ["moleculer.request.total", "moleculer.request.active", "moleculer.request.error.total", "moleculer.request.levels", "moleculer.request.time"];

it("publishes the same series, labels and counts as Moleculer's Metrics middleware", async () => {
	const stock = brokerWith("stock");
	const ours = brokerWith("aggregated");
	await Promise.all([stock.start(), ours.start()]);
	await Promise.all([workload(stock), workload(ours)]);
	// Ours publishes once a second and when the broker stops.
	await Promise.all([stock.stop(), ours.stop()]);
	for (const name of NAMES) expect({ name, items: series(ours, name).map(withoutBuckets) }).toEqual({ name, items: series(stock, name).map(withoutBuckets) });
	// Which bucket a call lands in depends on how long it took in each broker; the quick ones are
	// all under 10 ms and the slow ones (30 ms) over 25 ms in both.
	for (const broker of [stock, ours]) {
		for (const item of series(broker, "moleculer.request.time")) {
			const slow = item.labels.action === "work.slow";
			expect({ action: item.labels.action, under10: item.buckets![10], under25: item.buckets![25], all: item.buckets![10000] }).toEqual({
				action: item.labels.action,
				under10: slow ? 0 : item.count,
				under25: slow ? 0 : item.count,
				all: item.count,
			});
		}
	}
	// The workload did reach every series (a comparison of two empty lists would prove nothing).
	expect(series(ours, "moleculer.request.error.total")).toEqual([
		expect.objectContaining({ labels: expect.objectContaining({ action: "work.refuse", errorCode: 409, errorType: "REFUSED" }), value: 3 }),
	]);
	expect(series(ours, "moleculer.request.time").find(item => item.labels.action === "work.slow")).toMatchObject({ count: 2, buckets: { 25: 0, 50: 2 } });
});

it("publishes once a second while running, without waiting for the broker to stop", async () => {
	const broker = brokerWith("aggregated");
	await broker.start();
	try {
		await broker.call("work.quick");
		expect(series(broker, "moleculer.request.total")).toEqual([]);
		await new Promise(resolve => setTimeout(resolve, 1100));
		expect(series(broker, "moleculer.request.total")).toEqual([{ labels: { service: "work", action: "work.quick", type: "local", caller: null }, value: 1 }]);
		expect(series(broker, "moleculer.request.active")).toEqual([{ labels: { service: "work", action: "work.quick", type: "local", caller: null }, value: 0 }]);
	} finally {
		await broker.stop();
	}
});
