/**
 * Which clues a player is looking for. The gameplay service keeps each published hunt's clue graph in
 * memory (a published hunt is frozen, and is read many thousand times per second), so it answers here
 * rather than asking the hunts service's ClueGraph engine; the answers must still be the engine's
 * own, to the order of the list: the semantics are those of ../hunts/clue-graph/clue-graph.ts, and
 * opening.spec.ts checks them against the SQL engine on random graphs.
 *
 * A clue is "passed" once the player discovered it and, if it has a challenge, solved the challenge:
 * the caller works `passed` out that way (challenges are not modelled here). A discovered clue whose
 * challenge is pending is not passed, so it stays in the open list: the player still has it to finish.
 */
import type { CluePath } from "../hunts/clue-graph/clue-graph";

/** A published hunt's graph, as the hunts service hands it over. */
export interface PlayGraph {
	clueIds: readonly string[];
	paths: readonly CluePath[];
}

/** What every answer needs, worked out once per published hunt. */
export interface CompiledPlayGraph {
	/** Every clue of the hunt. */
	readonly clueIds: ReadonlySet<string>;
	/** Clues no path leads to, in clue-id order. */
	readonly starts: readonly string[];
	/** Clues no path leaves. */
	readonly finishes: ReadonlySet<string>;
	/** The clues of the hunt each clue's paths lead to, each once. */
	readonly successors: ReadonlyMap<string, readonly string[]>;
}

/**
 * Clue-id order is plain UTF-16 code-unit order (`<`), not localeCompare: the SQL engine sorts uuid
 * values byte by byte, which for their lowercase text is exactly this order, and the Neo4j engine and
 * the engines' contract sort strings the same way. localeCompare would put "B" after "a".
 */
const byClueId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Paths are taken as the engines store them: one given twice is one path, and one naming a clue the
 * hunt does not have still makes its other end no start (or no finish), but opens nothing. Publication
 * refuses such paths anyway (PATH_UNKNOWN_CLUE); matching the engines keeps the two answers equal
 * without trusting that.
 */
export function compilePlayGraph(graph: PlayGraph): CompiledPlayGraph {
	const clueIds = new Set(graph.clueIds);
	const ledTo = new Set<string>();
	const leftFrom = new Set<string>();
	const successorSets = new Map<string, Set<string>>();
	for (const { from, to } of graph.paths) {
		ledTo.add(to);
		leftFrom.add(from);
		if (!clueIds.has(to)) continue;
		const next = successorSets.get(from) ?? new Set<string>();
		next.add(to);
		successorSets.set(from, next);
	}
	return {
		clueIds,
		starts: [...clueIds].filter(clueId => !ledTo.has(clueId)).sort(byClueId),
		finishes: new Set([...clueIds].filter(clueId => !leftFrom.has(clueId))),
		successors: new Map([...successorSets].map(([from, next]) => [from, [...next]])),
	};
}

/**
 * The clues open for a player who passed `passed`, the passed ones excluded, in clue-id order: the
 * answer of ClueGraph.openedBy(huntId, passed). Clue ids are compared as given; the engines' are
 * lowercase UUIDs, which the hunts service hands over as such.
 *
 * Costs O(starts + passed + their paths out), and a sort of the clues those paths open only: the
 * starts are sorted already, and no path leads to a start, so the two lists merge without meeting.
 */
export function openClues(graph: CompiledPlayGraph, passed: ReadonlySet<string> | readonly string[]): string[] {
	const passedSet: ReadonlySet<string> = "has" in passed ? passed : new Set(passed);
	const openedByPaths = new Set<string>();
	for (const clueId of passedSet) {
		for (const next of graph.successors.get(clueId) ?? []) if (!passedSet.has(next)) openedByPaths.add(next);
	}
	const startsLeft = graph.starts.filter(start => !passedSet.has(start));
	return mergeSorted(startsLeft, [...openedByPaths].sort(byClueId));
}

/** A finish is a clue no path leaves (see participation-lifecycle.ts for what reaching one does); an id the hunt does not have is none. */
export function isFinish(graph: CompiledPlayGraph, clueId: string): boolean {
	return graph.finishes.has(clueId);
}

function mergeSorted(a: readonly string[], b: readonly string[]): string[] {
	const merged: string[] = [];
	let i = 0;
	let j = 0;
	while (i < a.length && j < b.length) merged.push(byClueId(a[i], b[j]) <= 0 ? a[i++] : b[j++]);
	while (i < a.length) merged.push(a[i++]);
	while (j < b.length) merged.push(b[j++]);
	return merged;
}
