/**
 * With OPENSEARCH_URL set, a node ranks hunt text searches in OpenSearch: published hunts are found
 * by words, tags and distance in one query, hidden ones disappear, and an index lost while the node
 * was down is rebuilt from the hunts table when it starts again.
 */
import fs from "node:fs";
import { randomUUID } from "node:crypto";
import { describeWithBackend } from "../support/backends";
import { httpClient, type HttpClient } from "../support/http";
import { HUNT_TEST_ENV, publishedHunt, signInAdmin, signUp, verifiedPartner } from "../support/hunts";
import { eventually, prepareDataDir, startTestNode, type TestNode } from "../support/node";
import { OpenSearchHuntIndex } from "../../domain/hunts/hunt-text-index";

describeWithBackend("opensearch", "hunt search on OpenSearch", os => {
	const namespace = `hsearch-${randomUUID().slice(0, 8)}`;
	const run = randomUUID().slice(0, 6);
	const dataDir = prepareDataDir();
	const env = { ...HUNT_TEST_ENV, OPENSEARCH_URL: os.url, NAMESPACE: namespace, DATA_DIR: dataDir };
	const index = new OpenSearchHuntIndex({ url: os.url, namespace });
	const lyon = { lat: 45.764, lon: 4.8357 };
	let node: TestNode;
	let http: HttpClient;
	let admin: string;
	let owner: { userId: string; token: string };
	let partnerId: string;
	const ids: Record<string, string> = {};
	const found = async (query: string) => (await http.get(`/api/hunts?${query}`)).body.items.map((item: { id: string }) => item.id);

	beforeAll(async () => {
		node = await startTestNode(env);
		http = httpClient(node.baseUrl);
		admin = await signInAdmin(http);
		owner = await signUp(http, "Owner");
		partnerId = await verifiedPartner(http, admin, owner);
		ids.basilica = await publishedHunt(http, owner, partnerId, `Basilica ${run} climb`, { lat: lyon.lat + 0.002, lon: lyon.lon }, { tags: ["view", `r${run}`] });
		ids.traboules = await publishedHunt(
			http,
			owner,
			partnerId,
			`Traboules ${run} maze`,
			{ lat: lyon.lat + 0.01, lon: lyon.lon },
			{ tags: [`r${run}`], description: "Secret passages near the basilica" },
		);
		ids.confluence = await publishedHunt(http, owner, partnerId, `Confluence ${run}`, { lat: lyon.lat - 0.03, lon: lyon.lon }, { tags: ["view", `r${run}`] });
	}, 90_000);
	afterAll(async () => {
		await node?.stop();
		await index.drop().catch(() => undefined);
		await index.close();
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it("indexes what is published and ranks by words, tags and distance in one query", async () => {
		await eventually(async () => expect(await found(`q=basilica%20${run}`)).toEqual([ids.basilica, ids.traboules]), { timeoutMs: 20_000 });
		// The answers came from the index, which holds exactly the listed hunts of this run once each
		// publication reached it (indexing follows publication; the last one may still be on its way).
		await eventually(
			async () => {
				await index.refresh();
				expect((await index.search({ tags: [`r${run}`] }, 0, 10)).map(hit => hit.huntId).sort()).toEqual(Object.values(ids).sort());
			},
			{ timeoutMs: 20_000, intervalMs: 200 },
		);
		expect(await found(`q=${run}%20-maze&tags=view`)).toEqual([ids.confluence, ids.basilica]);
		const near = await http.get(`/api/hunts?lat=${lyon.lat}&lon=${lyon.lon}&radius=2000&q=${run}`);
		expect(near.body.items.map((item: { id: string }) => item.id)).toEqual([ids.basilica, ids.traboules]);
		expect(near.body.items[0].distanceM).toBeGreaterThan(215);
		expect(near.body.items[0].distanceM).toBeLessThan(230);
	});

	it("drops a hunt from the index when it is archived", async () => {
		expect((await http.post(`/api/hunts/${ids.confluence}/archive`, {}, { token: owner.token })).status).toBe(200);
		await eventually(async () => expect((await index.search({ q: `confluence ${run}`, tags: [] }, 0, 10)).map(hit => hit.huntId)).toEqual([]), { timeoutMs: 20_000 });
		expect(await found(`tags=view,r${run}`)).toEqual([ids.basilica]);
		delete ids.confluence;
	});

	it("hides a suspended partner's hunts, and shows them again once verified", async () => {
		expect((await http.post(`/api/partners/${partnerId}/suspend`, { reason: "checking" }, { token: admin })).status).toBe(200);
		await eventually(async () => expect(await found(`q=${run}`)).toEqual([]), { timeoutMs: 20_000 });
		expect((await http.post(`/api/partners/${partnerId}/verify`, {}, { token: admin })).status).toBe(200);
		await eventually(async () => expect((await found(`q=${run}`)).sort()).toEqual(Object.values(ids).sort()), { timeoutMs: 20_000 });
	});

	it("rebuilds an index lost while the node was down from the hunts table", async () => {
		await node.stop();
		await index.drop();
		node = await startTestNode(env);
		http = httpClient(node.baseUrl);
		await eventually(async () => expect((await index.search({ q: run, tags: [] }, 0, 10)).map(hit => hit.huntId).sort()).toEqual(Object.values(ids).sort()), { timeoutMs: 30_000 });
		expect(await found(`q=traboules%20${run}`)).toEqual([ids.traboules]);
	}, 60_000);
});
