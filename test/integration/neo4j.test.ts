/**
 * The Neo4j server the clue-graph adapter (hunts issue) will be built against: reachable through
 * neo4j-driver, answering Cypher with parameters, paths and transactions the way that adapter will
 * use them. Every node carries a label unique to the run, so runs sharing a server never meet, and
 * the run deletes what it made.
 */
import { randomUUID } from "node:crypto";
import neo4j, { type Driver } from "neo4j-driver";
import { describeWithBackend } from "../support/backends";

describeWithBackend("neo4j", "Neo4j through neo4j-driver", status => {
	const label = `Clue_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
	let driver: Driver;

	beforeAll(async () => {
		driver = neo4j.driver(status.url, undefined, { maxConnectionPoolSize: 4 });
		await driver.verifyConnectivity();
	});
	afterAll(async () => {
		await driver.executeQuery(`MATCH (c:${label}) DETACH DELETE c`);
		await driver.close();
	});

	it("round-trips parameters and values", async () => {
		const { records } = await driver.executeQuery("RETURN $text AS text, $n AS n, $list AS list, $map AS map", {
			text: "Fontaine des Innocents",
			n: neo4j.int(42),
			list: [1.5, 2.5],
			map: { lat: 48.8606, lon: 2.3486 },
		});
		expect(records).toHaveLength(1);
		expect(records[0].get("text")).toBe("Fontaine des Innocents");
		expect(records[0].get("n").toNumber()).toBe(42);
		expect(records[0].get("list")).toEqual([1.5, 2.5]);
		expect(records[0].get("map")).toEqual({ lat: 48.8606, lon: 2.3486 });
	});

	it("stores a small clue graph and finds every path from the start to the finish", async () => {
		const hunt = randomUUID();
		// a → b → d and a → c → d: two routes to one finish.
		await driver.executeQuery(
			`UNWIND $clues AS id CREATE (:${label} {hunt: $hunt, id: id})
			 WITH count(*) AS made
			 UNWIND $paths AS p
			 MATCH (from:${label} {hunt: $hunt, id: p[0]}), (to:${label} {hunt: $hunt, id: p[1]})
			 CREATE (from)-[:LEADS_TO]->(to)`,
			{
				hunt,
				clues: ["a", "b", "c", "d"],
				paths: [
					["a", "b"],
					["b", "d"],
					["a", "c"],
					["c", "d"],
				],
			},
		);

		const routes = await driver.executeQuery(
			`MATCH route = (start:${label} {hunt: $hunt})-[:LEADS_TO*]->(finish:${label} {hunt: $hunt})
			 WHERE NOT ()-[:LEADS_TO]->(start) AND NOT (finish)-[:LEADS_TO]->()
			 RETURN [clue IN nodes(route) | clue.id] AS ids ORDER BY ids`,
			{ hunt },
		);
		expect(routes.records.map(r => r.get("ids"))).toEqual([
			["a", "b", "d"],
			["a", "c", "d"],
		]);

		const cycles = await driver.executeQuery(`MATCH (c:${label} {hunt: $hunt})-[:LEADS_TO*]->(c) RETURN count(c) AS n`, { hunt });
		expect(cycles.records[0].get("n").toNumber()).toBe(0);
	});

	it("rolls back a failed transaction and commits a successful one", async () => {
		const hunt = randomUUID();
		const session = driver.session();
		try {
			await expect(
				session.executeWrite(async tx => {
					await tx.run(`CREATE (:${label} {hunt: $hunt, id: "rolled-back"})`, { hunt });
					throw new Error("validation failed half-way");
				}),
			).rejects.toThrow("validation failed half-way");
			await session.executeWrite(tx => tx.run(`CREATE (:${label} {hunt: $hunt, id: "kept"})`, { hunt }));
			const stored = await session.executeRead(tx => tx.run(`MATCH (c:${label} {hunt: $hunt}) RETURN c.id AS id`, { hunt }));
			expect(stored.records.map(r => r.get("id"))).toEqual(["kept"]);
		} finally {
			await session.close();
		}
	});

	it("refuses a malformed query with a Cypher syntax error, not a dropped connection", async () => {
		await expect(driver.executeQuery("MATCH (n RETURN n")).rejects.toMatchObject({ code: "Neo.ClientError.Statement.SyntaxError" });
		const { records } = await driver.executeQuery("RETURN 1 AS one");
		expect(records[0].get("one").toNumber()).toBe(1);
	});
});
