/**
 * When a participation is complete. "Reaching a finish completes the hunt" needs one refinement,
 * because a clue no path leaves is a finish, and in a free-order hunt (no paths) every clue is one:
 * its first clue would end it. So a hunt is complete once the player passed (found, and solved its
 * challenge if it has one) a finish that some path leads to, the end of a trail; or passed every
 * clue, which is how a free-order hunt, a one-clue hunt or one made only of lone clues ends. In a
 * branching hunt the first trail end reached completes it: branches let the player choose.
 * Lone clues beside a trail are then optional extras, worth their points.
 */
import type { CompiledPlayGraph } from "./opening";

export function isComplete(graph: CompiledPlayGraph, passed: ReadonlySet<string>): boolean {
	const startSet = new Set(graph.starts);
	let passedOfHunt = 0;
	for (const clueId of passed) {
		if (!graph.clueIds.has(clueId)) continue;
		passedOfHunt++;
		if (graph.finishes.has(clueId) && !startSet.has(clueId)) return true;
	}
	return graph.clueIds.size > 0 && passedOfHunt === graph.clueIds.size;
}
