/**
 * Graceful shutdown: a request in flight when the node is told to stop still gets its answer,
 * because the broker's context tracking waits for it before closing the services.
 */
import { eventually, startTestNode } from "../support/node";

it("finishes in-flight requests before the node stops", async () => {
	const node = await startTestNode({ SHUTDOWN_TIMEOUT_MS: "5000" });
	try {
		node.broker.createService({
			name: "slow",
			settings: { rest: "/slow" },
			actions: {
				work: {
					rest: "GET /",
					async handler() {
						await new Promise(resolve => setTimeout(resolve, 700));
						return { done: true };
					},
				},
			},
		});
		await eventually(async () => {
			const res = await fetch(`${node.baseUrl}/api/slow`);
			if (res.status !== 200) throw new Error(`not routed yet: ${res.status}`);
		});

		const inFlight = fetch(`${node.baseUrl}/api/slow`).then(async res => ({ status: res.status, body: await res.json() }));
		await new Promise(resolve => setTimeout(resolve, 100));
		const stopping = node.broker.stop();
		const answer = await inFlight;
		await stopping;
		expect(answer).toEqual({ status: 200, body: { done: true } });
	} finally {
		await node.stop();
	}
});
