import { describeWithBackend } from "../../../test/support/backends";
import { openTestPGlite, openTestPostgres, uniqueSchema } from "../../../test/support/sql";
import type { SqlClient } from "../../../platform/sql";
import { clueGraphContract } from "./clue-graph.contract";
import { CLUE_GRAPH_MIGRATION_SQL, SqlClueGraph } from "./sql-clue-graph";

async function graphIn(client: SqlClient): Promise<{ graph: SqlClueGraph; schema: string }> {
	const schema = uniqueSchema("cluegraph");
	await client.exec(`create schema "${schema}"; set search_path to "${schema}"; ${CLUE_GRAPH_MIGRATION_SQL}; set search_path to public;`);
	return { graph: new SqlClueGraph(client, schema), schema };
}

describe("embedded", () => {
	let dispose: () => Promise<void>;
	clueGraphContract(
		"SQL (PGlite)",
		async () => {
			const db = await openTestPGlite();
			dispose = db.dispose;
			return (await graphIn(db.client)).graph;
		},
		() => dispose(),
	);
});

describeWithBackend("postgres", "PostgreSQL", pg => {
	let client: SqlClient;
	let schema: string;
	clueGraphContract(
		"SQL (PostgreSQL)",
		async () => {
			client = openTestPostgres(pg.url);
			const opened = await graphIn(client);
			schema = opened.schema;
			return opened.graph;
		},
		async () => {
			await client.query(`drop schema if exists "${schema}" cascade`);
			await client.close();
		},
	);
});
