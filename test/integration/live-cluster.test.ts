/**
 * Live notifications across nodes over NATS: the notification is stored and broadcast on one node
 * (with the inbox), the client's stream sits on a gateway node of its own, which pushes it, resumes
 * through the inbox on the other node, and ends the stream when the session is logged out on the
 * other node (the shared Redis store carries the revocation). Operators see both gateway nodes.
 */
import { randomUUID } from "node:crypto";
import { liveConnectionRows } from "../../services/api.repl";
import { asOperator } from "../../platform/runtime/repl-kit";
import { backend, describeWithBackend } from "../support/backends";
import { httpClient, type HttpClient } from "../support/http";
import { HUNT_TEST_ENV, signUp, TEST_PASSWORD } from "../support/hunts";
import { fakeNotifications, openSse, openWs } from "../support/live";
import { eventually, startTestNode, type TestNode } from "../support/node";

jest.setTimeout(120_000);

describeWithBackend("nats", "live notifications across gateway nodes", nats =>
	describeWithBackend("redis", "with Redis as the shared store", () => {
		const namespace = `live-cluster-${randomUUID().slice(0, 8)}`;
		let home: TestNode;
		let edge: TestNode;
		let inbox: ReturnType<typeof fakeNotifications>;
		let homeHttp: HttpClient;

		beforeAll(async () => {
			const common = { ...HUNT_TEST_ENV, NAMESPACE: namespace, TRANSPORTER: nats.url, STORE_URL: backend("redis").url, LIVE_SESSION_CHECK_SECONDS: "1" };
			home = await startTestNode({ ...common, NODE_ID: `${namespace}-home`, SERVICES: "api,auth,users,partners" });
			inbox = fakeNotifications(home.broker);
			// The edge gateway holds no signing key: it verifies tokens with the public keys and resumes with the user's own token.
			edge = await startTestNode({ ...common, NODE_ID: `${namespace}-edge`, SERVICES: "api" }, { waitReady: false });
			await edge.broker.waitForServices(["notifications", "auth"], 30_000);
			await home.broker.waitForServices([{ name: "api" }], 30_000);
			await eventually(async () => expect((await fetch(`${edge.baseUrl}/health/ready`)).status).toBe(200), { timeoutMs: 30_000, intervalMs: 200 });
			homeHttp = httpClient(home.baseUrl);
		}, 120_000);

		afterAll(async () => {
			for (const node of [edge, home].filter(Boolean)) await node.stop();
		});

		it("pushes a notification broadcast on another node to the stream and socket held by this one, and resumes through the inbox over there", async () => {
			const ana = await signUp(homeHttp, "Ana");
			await inbox.create(ana.userId);
			const auth = { Authorization: `Bearer ${ana.token}` };
			const sse = await openSse(edge.baseUrl, "/api/notifications/stream", { ...auth, "Last-Event-ID": "0" });
			const ws = await openWs(`${edge.baseUrl.replace("http", "ws")}/api/notifications/ws`, { headers: auth });
			try {
				await sse.waitFor(c => c.notifications().length === 1);
				const operator = await asOperator(home.broker);
				await eventually(async () => expect((await edge.broker.call<{ items: unknown[] }, { userId: string }>("api.liveConnections", { userId: ana.userId }, operator)).items).toHaveLength(2));
				const created = await inbox.create(ana.userId);
				await sse.waitFor(c => c.notifications().length === 2);
				await ws.waitFor(c => c.notifications().length === 1);
				expect(sse.notifications().map(n => n.id)).toEqual([1, 2]);
				expect(ws.notifications()).toEqual([created]);
				// The REPL's command, from the home node, lists the connections on the edge node.
				const rows = await liveConnectionRows(home.broker, ana.userId);
				expect(
					rows
						.filter(row => row[0] === edge.broker.nodeID)
						.map(row => row[1])
						.sort(),
				).toEqual(["sse", "ws"]);
				expect(rows.some(row => row[0] === home.broker.nodeID)).toBe(true);
			} finally {
				sse.close();
				ws.ws.terminate();
			}
		});

		it("ends the streams on this node within seconds of a logout made on the other", async () => {
			const email = `${randomUUID()}@example.com`;
			await homeHttp.post("/api/auth/register", { email, password: TEST_PASSWORD, displayName: "Leaving" });
			const token = (await homeHttp.post("/api/auth/login", { email, password: TEST_PASSWORD })).body.accessToken as string;
			const sse = await openSse(edge.baseUrl, "/api/notifications/stream", { Authorization: `Bearer ${token}` });
			const ws = await openWs(`${edge.baseUrl.replace("http", "ws")}/api/notifications/ws`, { headers: { Authorization: `Bearer ${token}` } });
			try {
				expect(sse.status).toBe(200);
				expect((await homeHttp.post("/api/auth/logout", {}, { token })).status).toBeLessThan(300);
				await sse.waitFor(c => c.ended, 6_000);
				expect(sse.events.at(-1)?.data).toBe(JSON.stringify({ code: "SESSION_REVOKED" }));
				await ws.waitFor(c => c.closed !== undefined, 6_000);
				expect(ws.closed).toEqual({ code: 4401, reason: "SESSION_REVOKED" });
			} finally {
				sse.close();
				ws.ws.terminate();
			}
		});
	}),
);
