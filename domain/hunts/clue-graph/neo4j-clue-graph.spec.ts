import { randomUUID } from "node:crypto";
import { describeWithBackend } from "../../../test/support/backends";
import { clueGraphContract } from "./clue-graph.contract";
import { Neo4jClueGraph } from "./neo4j-clue-graph";

describeWithBackend("neo4j", "Neo4j", status => {
	// A label of the run's own: runs sharing a server never meet, and this one deletes what it made.
	const label = `Clue_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
	clueGraphContract(
		"Neo4j",
		async () => new Neo4jClueGraph({ url: status.url, label }),
		async graph => {
			const driver = (graph as unknown as { driver: { executeQuery(cypher: string): Promise<unknown> } }).driver;
			await driver.executeQuery(`MATCH (c:${label}) DETACH DELETE c`);
			await driver.executeQuery(`DROP INDEX ${label.toLowerCase()}_hunt_id IF EXISTS`);
			await graph.close();
		},
	);
});
