/**
 * Identity across nodes: a gateway node that holds no keys verifies tokens with the public keys it
 * fetches from the auth node; a rogue broker on the same transporter gains nothing by writing meta
 * by hand; and the gateway's rate limit is one limit across gateway nodes sharing a store.
 */
import path from "node:path";
import { randomUUID } from "node:crypto";
import { DEV_KEYS_FILE, readKeyRing, writePublicKeys } from "../../platform/identity/key-store";
import { generateSigningKey, publicKeysOf, signMachineToken, type KeyRing } from "../../platform/identity/tokens";
import { ServiceBroker } from "moleculer";
import { describeWithBackend } from "../support/backends";
import { expectError, httpClient } from "../support/http";
import { eventually, startTestNode, type TestNode } from "../support/node";
import { rejectionOf } from "../support/async";

const PASSWORD = "a perfectly fine passphrase";

/** Fixed one-minute windows: start a burst early in one so it cannot straddle two. */
async function awaitFreshRateWindow(): Promise<void> {
	const intoWindow = Date.now() % 60_000;
	if (intoWindow > 50_000) await new Promise(resolve => setTimeout(resolve, 60_000 - intoWindow + 50));
}

describe("gateway rate limit on one node", () => {
	let node: TestNode;
	beforeAll(async () => {
		node = await startTestNode({ SERVICES: "api", RATE_LIMIT_PER_MINUTE: "3" });
	});
	afterAll(async () => node?.stop());

	it("answers 429 with Retry-After past the limit, and never limits health probes", async () => {
		await awaitFreshRateWindow();
		const http = httpClient(node.baseUrl);
		const statuses = [];
		for (let i = 0; i < 4; i++) statuses.push((await http.get("/api/ping")).status);
		expect(statuses).toEqual([200, 200, 200, 429]);
		const limited = await http.get("/api/ping");
		expectError(limited, 429, "RATE_LIMITED");
		expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
		expect((await http.get("/health/ready")).status).toBe(200);
	});
});

/** Two gateway nodes sharing one Redis store (and so one rate limit), in a namespace of their own. */
async function twoGatewaysOn(redisUrl: string, limitPerMinute: number): Promise<TestNode[]> {
	const common = { SERVICES: "api", STORE_URL: redisUrl, NAMESPACE: `ratelimit-${randomUUID().slice(0, 8)}`, RATE_LIMIT_PER_MINUTE: String(limitPerMinute) };
	return [await startTestNode({ ...common, NODE_ID: "gateway-a" }), await startTestNode({ ...common, NODE_ID: "gateway-b" })];
}

describeWithBackend("redis", "gateway rate limit across nodes (Redis store)", redis => {
	let nodes: TestNode[] = [];
	beforeAll(async () => {
		nodes = await twoGatewaysOn(redis.url, 6);
	});
	afterAll(async () => {
		for (const node of nodes) await node.stop();
	});

	it("counts one client's requests to every gateway node against one limit", async () => {
		await awaitFreshRateWindow();
		const [a, b] = nodes.map(node => httpClient(node.baseUrl));
		const statuses = [];
		for (let i = 0; i < 4; i++) {
			statuses.push((await a.get("/api/ping")).status);
			statuses.push((await b.get("/api/ping")).status);
		}
		expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
	});
});

describeWithBackend("redis", "gateway rate limit across nodes counted locally and settled in batches (Redis store)", redis => {
	const LIMIT = 200;
	let nodes: TestNode[] = [];
	beforeAll(async () => {
		nodes = await twoGatewaysOn(redis.url, LIMIT);
	});
	afterAll(async () => {
		for (const node of nodes) await node.stop();
	});

	it("admits the limit and at most a tenth of it more per node, with requests to both nodes at once", async () => {
		await awaitFreshRateWindow();
		const [a, b] = nodes.map(node => httpClient(node.baseUrl));
		const statuses: number[] = [];
		// Ten clients' worth of concurrency from one address, spread over both nodes.
		await Promise.all(
			Array.from({ length: 10 }, async (_, worker) => {
				for (let i = 0; i < 40; i++) statuses.push((await (worker % 2 ? b : a).get("/api/ping")).status);
			}),
		);
		const admitted = statuses.filter(status => status === 200).length;
		expect(statuses.filter(status => status !== 200 && status !== 429)).toEqual([]);
		expect(admitted).toBeGreaterThanOrEqual(LIMIT);
		expect(admitted).toBeLessThanOrEqual(LIMIT + 2 * (LIMIT / 10));
	});
});

describeWithBackend("nats", "identity over a NATS cluster", nats => {
	let core: TestNode;
	let gateway: TestNode;
	let rogue: ServiceBroker;
	let rogueRing: KeyRing;
	const namespace = `identity-${randomUUID().slice(0, 8)}`;

	beforeAll(async () => {
		const common = { TRANSPORTER: nats.url, NAMESPACE: namespace, RATE_LIMIT_PER_MINUTE: "0" };
		// Both nodes live in this process: without their own ids they would claim the same one.
		core = await startTestNode({ ...common, NODE_ID: `${namespace}-core`, SERVICES: "auth,users,partners,audit" }, { waitReady: false });
		// As in production: the gateway gets the public keys as a file, never from the cluster.
		const publicKeysFile = path.join(core.dataDir, "public-keys.json");
		await writePublicKeys(publicKeysFile, await readKeyRing(path.join(core.dataDir, DEV_KEYS_FILE)));
		gateway = await startTestNode({ ...common, NODE_ID: `${namespace}-gateway`, SERVICES: "api", AUTH_PUBLIC_KEYS_FILE: publicKeysFile });
		rogue = new ServiceBroker({ namespace, nodeID: `${namespace}-rogue`, transporter: nats.url as never, logger: false, skipProcessEventRegistration: true });
		// The rogue also pretends to be the auth service, handing out its own key.
		rogueRing = { current: await generateSigningKey(), previous: [] };
		rogue.createService({ name: "auth", actions: { publicKeys: () => ({ keys: publicKeysOf(rogueRing) }) } });
		await rogue.start();
		await rogue.waitForServices(["partners", "auth"], 20_000);
		await gateway.broker.waitForServices(["auth", "users", "partners"], 20_000);
	});
	afterAll(async () => {
		await rogue?.stop();
		await gateway?.stop();
		await core?.stop();
	});

	it("serves accounts through a gateway node that holds no signing key", async () => {
		const http = httpClient(gateway.baseUrl);
		const email = `remote-${randomUUID().slice(0, 8)}@example.com`;
		const registered = await http.post("/api/auth/register", { email, password: PASSWORD, displayName: "Remote" });
		expect(registered.status).toBe(201);
		expect((await http.get("/api/users/me", { token: registered.body.accessToken })).body.displayName).toBe("Remote");
		const forged = registered.body.accessToken.slice(0, -4) + "AAAA";
		expectError(await http.get("/api/users/me", { token: forged }), 401, "INVALID_TOKEN");
	});

	it("answers bad input on a gateway-only node with 4xx before anything is sent to another node", async () => {
		const http = httpClient(gateway.baseUrl);
		const deep = "[".repeat(20_000) + "]".repeat(20_000);
		expectError(await http.post("/api/auth/login", `{"email":"a@example.com","password":${deep}}`), 400, "INPUT_TOO_DEEP");
		expectError(await http.post("/api/auth/login", { email: "a\u0000@example.com", password: "x" }), 422, "VALIDATION_FAILED");
	});

	it("gives a broker that bypasses the gateway no more power than its token", async () => {
		const http = httpClient(gateway.baseUrl);
		const owner = await http.post("/api/auth/register", { email: `owner-${randomUUID().slice(0, 8)}@example.com`, password: PASSWORD, displayName: "Owner" });
		const partner = await http.post("/api/partners", { name: "Remote Café" }, { token: owner.body.accessToken });
		expect(partner.status).toBe(201);
		const forgedMeta = { user: { id: randomUUID(), roles: ["admin"] }, caller: { kind: "operator", operator: "mallory" } };
		expect(await rejectionOf(rogue.call("partners.verify", { id: partner.body.id }, { meta: forgedMeta }))).toMatchObject({ code: 401, type: "UNAUTHENTICATED" });
		expect(await rejectionOf(rogue.call("partners.verify", { id: partner.body.id }, { meta: { accessToken: owner.body.accessToken } }))).toMatchObject({ code: 403, type: "FORBIDDEN" });
		expect(await rejectionOf(rogue.call("partners.membershipsOf", { userId: owner.body.user.id }, { meta: forgedMeta }))).toMatchObject({ code: 401 });
		expect(await rejectionOf(rogue.call("audit.search", {}, { meta: { accessToken: owner.body.accessToken } }))).toMatchObject({ code: 403 });
		expect((await http.get(`/api/partners/${partner.body.id}`, { token: owner.body.accessToken })).body.status).toBe("pending");
	});

	/**
	 * A REQUEST packet straight from the rogue's transit, whatever the rogue's registry knows: a node
	 * need not announce an action for a peer to ask for it by name.
	 */
	function forgedRequest(nodeID: string, action: string, params: unknown = {}): Promise<unknown> {
		const ctx = (rogue.ContextFactory as unknown as { create(broker: ServiceBroker, endpoint: null, params: unknown, opts: object): Record<string, unknown> }).create(rogue, null, params, {
			timeout: 5_000,
		});
		Object.assign(ctx, { action: { name: action }, nodeID });
		const transit = (rogue as unknown as { transit: { request(ctx: unknown): Promise<unknown> } }).transit;
		return Promise.race([transit.request(ctx), new Promise((_, reject) => setTimeout(() => reject(new Error(`${action} on ${nodeID}: no answer`)), 5_000))]);
	}

	it("lets no other node reach an action that declares no access: moleculer-web's and Moleculer's built-ins answer LOCAL_ONLY", async () => {
		const checked: string[] = [];
		for (const node of [core, gateway]) {
			const local = node.broker.registry.getActionList({ onlyLocal: true, skipInternal: false, withEndpoints: false }) as Array<{ name: string; action?: { access?: string } }>;
			for (const { name, action } of local) {
				if (action?.access) continue;
				checked.push(name);
				expect({ name, error: await rejectionOf(forgedRequest(node.broker.nodeID, name)) }).toMatchObject({ name, error: { code: 403, type: "LOCAL_ONLY" } });
			}
		}
		// Not vacuous: Moleculer's node introspection and the gateway's helpers are among them.
		expect(checked).toEqual(expect.arrayContaining(["$node.options", "$node.list", "$node.services", "system.ping"]));
		// moleculer-web's route management is gone altogether, not merely refused.
		for (const builtIn of ["api.addRoute", "api.removeRoute", "api.listAliases", "api.rest"]) {
			expect(await rejectionOf(forgedRequest(gateway.broker.nodeID, builtIn, { path: "/api" }))).toMatchObject({ type: "SERVICE_NOT_FOUND" });
		}
		expect((await httpClient(gateway.baseUrl).get("/health/ready")).status).toBe(200);
	});

	it("drops broker-internal ($-prefixed) events that come from another node, and delivers ordinary ones", async () => {
		const seen: string[] = [];
		core.broker.createService({
			name: "listener",
			events: {
				"$lootopia.probe"() {
					seen.push("internal");
				},
				"lootopia.probe"() {
					seen.push("ordinary");
				},
			},
		});
		await rogue.waitForServices(["listener"], 10_000);
		rogue.broadcast("$lootopia.probe", {});
		rogue.broadcast("lootopia.probe", {});
		await eventually(async () => {
			if (!seen.includes("ordinary")) throw new Error("the ordinary event did not arrive");
		});
		await new Promise(resolve => setTimeout(resolve, 300));
		expect(seen).toEqual(["ordinary"]);
		// The same internal event raised on the node itself still reaches its listener.
		core.broker.broadcastLocal("$lootopia.probe", {});
		await eventually(async () => {
			if (!seen.includes("internal")) throw new Error("the local internal event did not arrive");
		});
	});

	it("refuses tokens signed with a key a rogue `auth` service hands out", async () => {
		const http = httpClient(gateway.baseUrl);
		const settings = { issuer: "lootopia", audience: "lootopia-api", accessTtlSeconds: 900 };
		const operatorToken = await signMachineToken(rogueRing, "operator:mallory", "operator", settings);
		// Several tries: the gateway may pick either `auth` when it looks for keys, if it looks at all.
		for (let i = 0; i < 4; i++) expectError(await http.get("/api/admin/audit", { token: operatorToken }), 401, "INVALID_TOKEN");
		expect(await rejectionOf(rogue.call("audit.search", {}, { meta: { accessToken: operatorToken }, nodeID: `${namespace}-core` }))).toMatchObject({ code: 401 });
	});
});
