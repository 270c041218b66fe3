/**
 * The same build split over processes on the machine's NATS: a gateway-only node and a backend node
 * started exactly like `npm start` (SERVICES, TRANSPORTER), plus this test's broker joining as a
 * third node. HTTP enters the gateway process and is served by a service in another process.
 */
import fs from "node:fs";
import { randomUUID } from "node:crypto";
import { ServiceBroker } from "moleculer";
import { gatherClusterReport, RegistryNode } from "../../platform/runtime/cluster-report";
import type { HealthReport } from "../../platform/runtime/node-backends";
import { describeWithBackend } from "../support/backends";
import { rejectionOf } from "../support/async";
import { generateSigningKey, publicKeysOf, signMachineToken, type KeyRing } from "../../platform/identity/tokens";
import { eventually, freePort, prepareDataDir } from "../support/node";
import { startScript, stopScript } from "../support/node-process";
import { deleteNatsStreams } from "../support/nats";

const startNodeProcess = (env: Record<string, string>) => startScript("platform/runtime/start.ts", env);

describeWithBackend("nats", "cluster over NATS", nats => {
	const namespace = `cluster-test-${randomUUID().slice(0, 8)}`;
	const common = { TRANSPORTER: nats.url, NAMESPACE: namespace, CHANNELS_URL: nats.url };
	const dataDirs: string[] = [];
	let gateway: ReturnType<typeof startNodeProcess>;
	let backend: ReturnType<typeof startNodeProcess>;
	let observer: ServiceBroker;
	let baseUrl: string;
	let backendHealthUrl: string;
	let operatorMeta: { accessToken: string };

	beforeAll(async () => {
		const port = await freePort();
		baseUrl = `http://127.0.0.1:${port}`;
		dataDirs.push(prepareDataDir(), prepareDataDir());
		gateway = startNodeProcess({ ...common, NODE_ID: `${namespace}-gateway`, SERVICES: "api", PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDirs[0] });
		const healthPort = await freePort();
		backendHealthUrl = `http://127.0.0.1:${healthPort}`;
		backend = startNodeProcess({ ...common, NODE_ID: `${namespace}-backend`, SERVICES: "system", DATA_DIR: dataDirs[1], HEALTH_PORT: String(healthPort) });

		observer = new ServiceBroker({ namespace, nodeID: `${namespace}-observer`, transporter: nats.url as never, logger: false, skipProcessEventRegistration: true });
		// Development nodes take their public keys from the cluster's `auth`: here the observer's, so
		// the operator token it signs opens system.health and system.info like the REPL's does.
		const ring: KeyRing = { current: await generateSigningKey(), previous: [] };
		observer.createService({ name: "auth", actions: { publicKeys: () => ({ keys: publicKeysOf(ring) }) } });
		operatorMeta = { accessToken: await signMachineToken(ring, "operator:cluster-test", "operator", { issuer: "lootopia", audience: "lootopia-api", accessTtlSeconds: 900 }, 600) };
		observer.createService({
			name: "greeter",
			settings: { rest: "/greeter" },
			actions: {
				hello: {
					rest: "GET /hello",
					params: { name: "string|min:1" },
					handler(this: { broker: ServiceBroker }, ctx) {
						return { greeting: `hello ${ctx.params.name}`, servedBy: this.broker.nodeID };
					},
				},
			},
		});
		await observer.start();
		await eventually(
			async () => {
				const res = await fetch(`${baseUrl}/health/ready`);
				if (res.status !== 200) throw new Error(`gateway not ready: ${res.status}`);
			},
			{ timeoutMs: 60_000, intervalMs: 200 },
		).catch(err => {
			throw new Error(`${err.message}\ngateway output:\n${gateway.output()}\nbackend output:\n${backend.output()}`);
		});
	}, 90_000);

	afterAll(async () => {
		await observer?.stop();
		const codes = await Promise.all([gateway, backend].filter(Boolean).map(stopScript));
		for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
		await deleteNatsStreams(nats.url, namespace).catch(() => undefined);
		// SIGTERM must drain and exit cleanly, not crash.
		expect(codes).toEqual([0, 0]);
	});

	it("sees every node and reads each one's health", async () => {
		const report = await eventually(
			async () => {
				const summary = await gatherClusterReport({
					nodes: () => observer.registry.getNodeList({ onlyAvailable: false, withServices: true }) as unknown as RegistryNode[],
					health: nodeID => observer.call<HealthReport, Record<string, never>>("system.health", {}, { nodeID, meta: operatorMeta }),
				});
				if (summary.filter(n => n.health?.status === "up").length < 2) throw new Error(`not all nodes up yet: ${JSON.stringify(summary)}`);
				return summary;
			},
			{ timeoutMs: 20_000 },
		);
		const byId = new Map(report.map(node => [node.nodeID, node]));
		expect(byId.get(`${namespace}-gateway`)?.services).toEqual(["api", "system"]);
		expect(byId.get(`${namespace}-backend`)?.services).toEqual(["system"]);
		expect(Object.keys(byId.get(`${namespace}-backend`)!.health!.backends).sort()).toEqual(["broker", "cache", "channels", "transporter"]);
	});

	it("serves probes on HEALTH_PORT on a node without the gateway", async () => {
		const ready = await eventually(async () => {
			const res = await fetch(`${backendHealthUrl}/health/ready`);
			if (res.status !== 200) throw new Error(`backend not ready: ${res.status}`);
			return (await res.json()) as { status: string; nodeID: string };
		});
		expect(ready).toEqual(expect.objectContaining({ status: "up", nodeID: `${namespace}-backend` }));
		expect((await fetch(`${backendHealthUrl}/health/live`)).status).toBe(200);
		expect((await fetch(`${backendHealthUrl}/nope`)).status).toBe(404);
	});

	it("calls an action on a chosen remote node", async () => {
		const info = await observer.call<{ nodeID: string; services: string[] }, Record<string, never>>("system.info", {}, { nodeID: `${namespace}-backend`, meta: operatorMeta });
		expect(info.nodeID).toBe(`${namespace}-backend`);
		expect(info.services).toEqual(["system"]);
		// Without the token the node says who may ask, rather than answering anyone on the transporter.
		expect(await rejectionOf(observer.call("system.info", {}, { nodeID: `${namespace}-backend` }))).toMatchObject({ code: 401 });
	});

	it("routes HTTP through the gateway process to a service in another process", async () => {
		const res = await eventually(async () => {
			const response = await fetch(`${baseUrl}/api/greeter/hello?name=ada`);
			if (response.status !== 200) throw new Error(`not routed yet: ${response.status}`);
			return response.json();
		});
		expect(res).toEqual({ greeting: "hello ada", servedBy: `${namespace}-observer` });

		const invalid = await fetch(`${baseUrl}/api/greeter/hello`);
		expect(invalid.status).toBe(422);
	});

	it("answers 503 in the envelope when the serving node is gone", async () => {
		await observer.destroyService(observer.getLocalService("greeter")!);
		const res = await eventually(async () => {
			const response = await fetch(`${baseUrl}/api/greeter/hello?name=ada`);
			if (response.status === 200) throw new Error("still routed");
			return response;
		});
		expect([404, 503]).toContain(res.status);
		const body = (await res.json()) as { error: { code: string } };
		expect(body.error.code).toMatch(/ROUTE_NOT_FOUND|SERVICE_UNAVAILABLE/);
	});
});
