/**
 * TRACING_SAMPLE_RATE reaches the broker's tracer: with 0.25, one request in four is traced.
 */
import { startTestNode } from "../support/node";

it("traces the share of requests TRACING_SAMPLE_RATE names", async () => {
	const node = await startTestNode({ TRACING_EXPORTER: "event", TRACING_SAMPLE_RATE: "0.25" });
	try {
		const tracer = (node.broker as unknown as { tracer: { shouldSample(span: { priority: number }): boolean } }).tracer;
		const sampled = Array.from({ length: 400 }, () => tracer.shouldSample({ priority: 5 })).filter(Boolean).length;
		expect(sampled).toBe(100);
		// Requests still go through (and the spans of the sampled ones are made).
		expect(await node.broker.call("system.ping")).toMatchObject({ pong: true });
	} finally {
		await node.stop();
	}
});
