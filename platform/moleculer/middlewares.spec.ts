import { ServiceBroker } from "moleculer";
import { internalMiddlewares, MOLECULER_INTERNAL_MIDDLEWARES } from "./middlewares";

const names = (broker: ServiceBroker) => (broker.middlewares as unknown as { list: Array<{ name?: string }> }).list.map(mw => mw.name);

describe("internal middlewares", () => {
	it("registers exactly the middlewares Moleculer would, in its order", () => {
		const stock = new ServiceBroker({ logger: false, skipProcessEventRegistration: true, cacher: "Memory" });
		const ours = new ServiceBroker({ logger: false, skipProcessEventRegistration: true, cacher: "Memory", internalMiddlewares: false, middlewares: internalMiddlewares() as never });
		const expected = names(stock);
		// Ours add authorization and the input guard right outside the cacher, so refused calls and
		// poisonous input never get a cached answer or reach validation.
		expected.splice(expected.indexOf("Cacher") + 1, 0, "Authorization", "InputGuard");
		expect(names(ours)).toEqual(expected);
		expect(names(stock)).toEqual([...MOLECULER_INTERNAL_MIDDLEWARES]);
	});

	it("still counts metrics for real actions but not for the gateway's forwarding action", async () => {
		const broker = new ServiceBroker({
			logger: false,
			skipProcessEventRegistration: true,
			metrics: { enabled: true, reporter: [] },
			internalMiddlewares: false,
			middlewares: internalMiddlewares() as never,
		});
		broker.createService({ name: "api", actions: { rest: () => "forwarded" } });
		broker.createService({ name: "hunts", actions: { list: () => [] } });
		await broker.start();
		await broker.call("api.rest");
		await broker.call("hunts.list");
		// Counts are published to the registry once a second and when the broker stops.
		await broker.stop();
		const total = broker.metrics.getMetric("moleculer.request.total")!.snapshot() as unknown as Array<{ labels: { action: string }; value: number }>;
		expect(total.map(item => item.labels.action)).toEqual(["hunts.list"]);
	});
});
