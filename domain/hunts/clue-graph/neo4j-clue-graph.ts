/**
 * The clue graph in Neo4j (NEO4J_URL): a node per clue, a PATH relationship per path. Walks use
 * shortestPath, a breadth-first search, never an enumeration of every path: a hunt with branches
 * and joins has exponentially many of those.
 */
import neo4j, { type Driver } from "neo4j-driver";
import { graphProblems, type ClueGraph, type CluePath, type GraphProblem } from "./clue-graph";

export interface Neo4jClueGraphOptions {
	url: string;
	/** Node label: "Clue" in production; tests give each run its own. */
	label?: string;
}

const sorted = (ids: Iterable<string>) => [...ids].sort();

export class Neo4jClueGraph implements ClueGraph {
	private readonly driver: Driver;
	private readonly label: string;
	private indexed?: Promise<void>;

	constructor(options: Neo4jClueGraphOptions) {
		this.driver = neo4j.driver(options.url, undefined, { maxConnectionPoolSize: 10, logging: { level: "error", logger: () => undefined } });
		const label = options.label ?? "Clue";
		if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(label)) throw new Error(`Not a usable Neo4j label: ${label}`);
		this.label = label;
	}

	private ensureIndex(): Promise<void> {
		this.indexed ??= this.driver
			.executeQuery(`CREATE INDEX ${this.label.toLowerCase()}_hunt_id IF NOT EXISTS FOR (c:${this.label}) ON (c.huntId, c.id)`)
			.then(() => undefined)
			.catch(err => {
				this.indexed = undefined;
				throw err;
			});
		return this.indexed;
	}

	private async ids(cypher: string, params: Record<string, unknown>): Promise<string[]> {
		await this.ensureIndex();
		const { records } = await this.driver.executeQuery(cypher, params, { routing: neo4j.routing.READ });
		return records.map(record => record.get("id") as string);
	}

	async replace(huntId: string, clueIds: readonly string[], paths: readonly CluePath[]): Promise<void> {
		await this.ensureIndex();
		const session = this.driver.session();
		try {
			await session.executeWrite(async tx => {
				await tx.run(`MATCH (c:${this.label} {huntId: $huntId}) DETACH DELETE c`, { huntId });
				await tx.run(`UNWIND $ids AS id MERGE (:${this.label} {huntId: $huntId, id: id})`, { huntId, ids: [...clueIds] });
				await tx.run(
					`UNWIND $paths AS p
					MATCH (a:${this.label} {huntId: $huntId, id: p.from}), (b:${this.label} {huntId: $huntId, id: p.to})
					MERGE (a)-[:PATH]->(b)`,
					{ huntId, paths: paths.map(({ from, to }) => ({ from, to })) },
				);
			});
		} finally {
			await session.close();
		}
	}

	async remove(huntId: string): Promise<void> {
		await this.replace(huntId, [], []);
	}

	starts(huntId: string): Promise<string[]> {
		return this.ids(`MATCH (c:${this.label} {huntId: $huntId}) WHERE NOT ()-[:PATH]->(c) RETURN c.id AS id ORDER BY id`, { huntId });
	}

	finishes(huntId: string): Promise<string[]> {
		return this.ids(`MATCH (c:${this.label} {huntId: $huntId}) WHERE NOT (c)-[:PATH]->() RETURN c.id AS id ORDER BY id`, { huntId });
	}

	async problems(huntId: string): Promise<GraphProblem[]> {
		const [all, starts, finishes, selfLoops, backToItself, reachedFromStarts] = await Promise.all([
			this.ids(`MATCH (c:${this.label} {huntId: $huntId}) RETURN c.id AS id`, { huntId }),
			this.starts(huntId),
			this.finishes(huntId),
			this.ids(`MATCH (c:${this.label} {huntId: $huntId})-[:PATH]->(c) RETURN c.id AS id`, { huntId }),
			// On a cycle: one of its successors leads back to it.
			this.ids(
				`MATCH (c:${this.label} {huntId: $huntId})-[:PATH]->(s) WHERE s <> c
				MATCH p = shortestPath((s)-[:PATH*]->(c))
				RETURN DISTINCT c.id AS id`,
				{ huntId },
			),
			this.ids(
				`MATCH (s:${this.label} {huntId: $huntId}) WHERE NOT ()-[:PATH]->(s)
				MATCH (c:${this.label} {huntId: $huntId}) WHERE c <> s
				MATCH p = shortestPath((s)-[:PATH*]->(c))
				RETURN DISTINCT c.id AS id`,
				{ huntId },
			),
		]);
		const reached = new Set([...starts, ...reachedFromStarts]);
		const onCycles = sorted(new Set([...selfLoops, ...backToItself]));
		return graphProblems(all.length, starts, finishes, onCycles, sorted(all.filter(id => !reached.has(id))));
	}

	openedBy(huntId: string, solved: readonly string[]): Promise<string[]> {
		return this.ids(
			`MATCH (c:${this.label} {huntId: $huntId}) WHERE NOT c.id IN $solved
				AND (NOT ()-[:PATH]->(c) OR EXISTS { MATCH (b:${this.label} {huntId: $huntId})-[:PATH]->(c) WHERE b.id IN $solved })
			RETURN c.id AS id ORDER BY id`,
			{ huntId, solved: [...solved] },
		);
	}

	async reachableFrom(huntId: string, clueId: string): Promise<string[]> {
		const [others, itself] = await Promise.all([
			this.ids(
				`MATCH (a:${this.label} {huntId: $huntId, id: $clueId}), (b:${this.label} {huntId: $huntId}) WHERE a <> b
				MATCH p = shortestPath((a)-[:PATH*]->(b))
				RETURN b.id AS id`,
				{ huntId, clueId },
			),
			this.ids(
				`MATCH (a:${this.label} {huntId: $huntId, id: $clueId})
				WHERE (a)-[:PATH]->(a) OR EXISTS { MATCH (a)-[:PATH]->(s) WHERE s <> a MATCH p = shortestPath((s)-[:PATH*]->(a)) }
				RETURN a.id AS id`,
				{ huntId, clueId },
			),
		]);
		return sorted(new Set([...others, ...itself]));
	}

	async shortestPathLength(huntId: string, from: string, to: string): Promise<number | null> {
		if (from === to) return (await this.ids(`MATCH (a:${this.label} {huntId: $huntId, id: $from}) RETURN a.id AS id`, { huntId, from })).length ? 0 : null;
		await this.ensureIndex();
		const { records } = await this.driver.executeQuery(
			`MATCH (a:${this.label} {huntId: $huntId, id: $from}), (b:${this.label} {huntId: $huntId, id: $to})
			MATCH p = shortestPath((a)-[:PATH*]->(b))
			RETURN length(p) AS length`,
			{ huntId, from, to },
			{ routing: neo4j.routing.READ },
		);
		return records.length ? neo4j.integer.toNumber(records[0].get("length")) : null;
	}

	async close(): Promise<void> {
		await this.driver.close();
	}
}
