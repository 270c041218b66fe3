import { ServiceBroker, TracerExporters, type Span } from "moleculer";
import { SampledTracingMiddleware } from "./tracing";

/** A broker whose spans (Moleculer's own) are collected by a custom exporter. */
function tracedBroker(rate: number, finished: Span[]): ServiceBroker {
	const exporter = new (class extends TracerExporters.Base {
		override spanFinished(span: Span) {
			finished.push(span);
		}
	})({});
	const broker = new ServiceBroker({
		logger: false,
		skipProcessEventRegistration: true,
		tracing: { enabled: true, sampling: { rate }, exporter: [exporter as never] },
		internalMiddlewares: false,
		middlewares: [SampledTracingMiddleware] as never,
	});
	broker.createService({
		name: "work",
		actions: {
			outer: ctx => ctx.call("work.inner"),
			inner: () => "done",
		},
	});
	return broker;
}

it("makes Moleculer's spans for sampled requests only, and their child calls follow the root's decision", async () => {
	const finished: Span[] = [];
	const broker = tracedBroker(0.25, finished);
	await broker.start();
	// Moleculer's own middleware starts a span for every call, sampled or not (80 here).
	const started = jest.spyOn((broker as unknown as { tracer: { startSpan(...args: unknown[]): unknown } }).tracer, "startSpan");
	try {
		for (let i = 0; i < 40; i++) await expect(broker.call("work.outer")).resolves.toBe("done");
	} finally {
		await broker.stop();
	}
	// One request in four sampled, each with its outer and inner span, the inner one a child of the outer.
	expect(finished).toHaveLength(20);
	const outer = finished.filter(span => span.name === "action 'work.outer'");
	const inner = finished.filter(span => span.name === "action 'work.inner'");
	expect(outer).toHaveLength(10);
	expect(inner.map(span => span.parentID).sort()).toEqual(outer.map(span => span.id).sort());
	expect(finished.every(span => span.sampled)).toBe(true);
	expect(started).toHaveBeenCalledTimes(20);
});

it("traces every request at rate 1 and none at rate 0", async () => {
	for (const [rate, expected] of [
		[1, 6],
		[0, 0],
	]) {
		const finished: Span[] = [];
		const broker = tracedBroker(rate, finished);
		await broker.start();
		for (let i = 0; i < 3; i++) await broker.call("work.outer");
		await broker.stop();
		expect({ rate, spans: finished.length }).toEqual({ rate, spans: expected });
	}
});
