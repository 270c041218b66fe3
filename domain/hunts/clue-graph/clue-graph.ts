/**
 * The clue graph of a hunt: clues joined by directed paths. One interface, two engines (SQL by
 * default, Neo4j with NEO4J_URL), held to the same answers by clue-graph.contract.ts.
 *
 * What the answers mean, whichever engine gives them:
 * - a start is a clue no path leads to; a finish is a clue no path leaves;
 * - a clue opens once it is a start, or once any clue with a path into it is solved (branches let
 *   the player choose; they do not wait for every branch);
 * - reachable from X: the clues a walk of one path or more from X arrives at;
 * - the shortest path length counts paths (0 from a clue to itself).
 * Lists are sorted by clue id, so two engines' answers compare as they are.
 */
export interface CluePath {
	from: string;
	to: string;
}

export type GraphProblemCode = "NO_START" | "CYCLE" | "UNREACHABLE_CLUE" | "NO_FINISH";

export interface GraphProblem {
	code: GraphProblemCode;
	clueId?: string;
}

export interface ClueGraph {
	/** Replaces a hunt's graph. Paths name clues of `clueIds` only (the hunt's validation reports the others). */
	replace(huntId: string, clueIds: readonly string[], paths: readonly CluePath[]): Promise<void>;
	remove(huntId: string): Promise<void>;
	/** NO_START and NO_FINISH once; CYCLE for each clue on a cycle; UNREACHABLE_CLUE for each clue no start leads to. */
	problems(huntId: string): Promise<GraphProblem[]>;
	starts(huntId: string): Promise<string[]>;
	finishes(huntId: string): Promise<string[]>;
	/** The clues open for a player who solved `solved`, the solved ones excluded. */
	openedBy(huntId: string, solved: readonly string[]): Promise<string[]>;
	reachableFrom(huntId: string, clueId: string): Promise<string[]>;
	shortestPathLength(huntId: string, from: string, to: string): Promise<number | null>;
	close(): Promise<void>;
}

/** Problems in one order for every engine: by code, then clue id. */
const CODE_ORDER: Record<GraphProblemCode, number> = { NO_START: 0, NO_FINISH: 1, CYCLE: 2, UNREACHABLE_CLUE: 3 };
export function sortProblems(problems: GraphProblem[]): GraphProblem[] {
	return problems.sort((a, b) => CODE_ORDER[a.code] - CODE_ORDER[b.code] || (a.clueId ?? "").localeCompare(b.clueId ?? ""));
}

/** The graph problems from the engine's raw answers, so every engine words them alike. */
export function graphProblems(clueCount: number, starts: readonly string[], finishes: readonly string[], onCycles: readonly string[], unreachable: readonly string[]): GraphProblem[] {
	const problems: GraphProblem[] = [];
	if (clueCount > 0 && starts.length === 0) problems.push({ code: "NO_START" });
	if (clueCount > 0 && finishes.length === 0) problems.push({ code: "NO_FINISH" });
	for (const clueId of onCycles) problems.push({ code: "CYCLE", clueId });
	for (const clueId of unreachable) problems.push({ code: "UNREACHABLE_CLUE", clueId });
	return sortProblems(problems);
}
