/**
 * TRACING_SAMPLE_RATE reaches the broker's tracer: with 0.25, one request in four is traced.
 */
import { eventually, startTestNode } from "../support/node";

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

it("gives a traced HTTP request its gateway span with the action's span under it, as before the gateway's lean path", async () => {
	const node = await startTestNode({ TRACING_EXPORTER: "event", TRACING_SAMPLE_RATE: "1" });
	try {
		const spans: Array<{ id: string; parentID: string | null; traceID: string; name: string; tags: { requestID?: string } }> = [];
		node.broker.createService({
			name: "span-collector",
			events: {
				"$tracing.spans"(ctx: { params: typeof spans }) {
					spans.push(...ctx.params);
				},
			},
		});
		const requestIds = [];
		for (let i = 0; i < 3; i++) {
			const res = await fetch(`${node.baseUrl}/api/ping`, { headers: { "X-Request-ID": `trace-test-${i}` } });
			expect(res.status).toBe(200);
			requestIds.push(res.headers.get("x-request-id"));
		}
		expect(requestIds).toEqual(["trace-test-0", "trace-test-1", "trace-test-2"]);
		// The event exporter sends its spans in batches, every few seconds.
		await eventually(async () => expect(spans.filter(span => span.name === "action 'system.ping'")).toHaveLength(3), { timeoutMs: 15_000, intervalMs: 200 });
		for (const requestId of requestIds) {
			const http = spans.find(span => span.name === "GET /api/ping" && span.traceID === requestId);
			const action = spans.find(span => span.name === "action 'system.ping'" && span.traceID === requestId);
			expect(http).toBeDefined();
			expect(action?.parentID).toBe(http!.id);
		}
	} finally {
		await node.stop();
	}
});
