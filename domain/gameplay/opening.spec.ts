/**
 * The in-memory answers must be the clue-graph engines' answers, list order included, or a player
 * would be shown other clues than the hunts service shows. Hand-written graphs first, then random
 * ones answered by the SQL engine on embedded PGlite (no server needed).
 */
import type { CluePath } from "../hunts/clue-graph/clue-graph";
import { CLUE_GRAPH_MIGRATION_SQL, SqlClueGraph } from "../hunts/clue-graph/sql-clue-graph";
import { openTestPGlite, useMigratedSchema } from "../../test/support/sql";
import { compilePlayGraph, isFinish, openClues } from "./opening";
import { seededRandom } from "../../test/support/seeded-random";

/** Clue `n`: a fixed UUID whose order follows n, as in clue-graph.contract.ts, so expected lists read in order. */
const c = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const p = (from: number, to: number): CluePath => ({ from: c(from), to: c(to) });
const compiled = (clues: number[], paths: CluePath[]) => compilePlayGraph({ clueIds: clues.map(c), paths });
const open = (graph: ReturnType<typeof compilePlayGraph>, passed: number[]) => openClues(graph, passed.map(c));

describe("opening", () => {
	it("opens a linear hunt one clue at a time", () => {
		const graph = compiled([1, 2, 3], [p(1, 2), p(2, 3)]);
		expect(open(graph, [])).toEqual([c(1)]);
		expect(open(graph, [1])).toEqual([c(2)]);
		expect(open(graph, [1, 2])).toEqual([c(3)]);
		expect(open(graph, [1, 2, 3])).toEqual([]);
		expect([1, 2, 3].map(n => isFinish(graph, c(n)))).toEqual([false, false, true]);
	});

	it("opens every clue of a free-order hunt at once: each is a start and a finish", () => {
		const graph = compiled([3, 1, 2], []);
		expect(open(graph, [])).toEqual([c(1), c(2), c(3)]);
		expect(open(graph, [2])).toEqual([c(1), c(3)]);
		expect([1, 2, 3].every(n => isFinish(graph, c(n)))).toBe(true);
	});

	it("opens both branches together, and a join after either branch, without waiting for the other", () => {
		// 1 → 2, 1 → 3, 2 → 4, 3 → 4, 4 → 5
		const graph = compiled([1, 2, 3, 4, 5], [p(1, 2), p(1, 3), p(2, 4), p(3, 4), p(4, 5)]);
		expect(open(graph, [1])).toEqual([c(2), c(3)]);
		expect(open(graph, [1, 3])).toEqual([c(2), c(4)]);
		expect(open(graph, [1, 2])).toEqual([c(3), c(4)]);
		expect(open(graph, [1, 2, 3])).toEqual([c(4)]);
		expect(open(graph, [1, 3, 4])).toEqual([c(2), c(5)]);
		expect([1, 2, 3, 4, 5].filter(n => isFinish(graph, c(n)))).toEqual([5]);
	});

	it("keeps a start open beside what the player opened, and merges the two in clue-id order", () => {
		// Two starts: 4 leads to 1 and 6, while 3 is a start of its own, an island.
		const graph = compiled([1, 3, 4, 6], [p(4, 1), p(4, 6)]);
		expect(open(graph, [])).toEqual([c(3), c(4)]);
		expect(open(graph, [4])).toEqual([c(1), c(3), c(6)]);
	});

	it("takes the passed clues as a set or a list, duplicates and clues of no hunt included", () => {
		const graph = compiled([1, 2, 3], [p(1, 2), p(1, 3)]);
		expect(openClues(graph, new Set([c(1)]))).toEqual([c(2), c(3)]);
		expect(openClues(graph, [c(1), c(1), c(99)])).toEqual([c(2), c(3)]);
		expect(isFinish(graph, c(99))).toBe(false);
	});

	it("counts one path given twice once, and lets a path naming an unknown clue open nothing, as the engines store them", () => {
		const graph = compiled([1, 2], [p(1, 2), p(1, 2), p(9, 1), p(2, 8)]);
		expect(graph.successors.get(c(1))).toEqual([c(2)]);
		expect(open(graph, [])).toEqual([]);
		expect(open(graph, [9])).toEqual([c(1)]);
		expect(open(graph, [9, 1, 2])).toEqual([]);
		expect(isFinish(graph, c(2))).toBe(false);
	});

	it("sorts clue ids by code unit, as the engines do, not by locale", () => {
		const graph = compilePlayGraph({ clueIds: ["b", "a", "B", "_"], paths: [] });
		expect(openClues(graph, [])).toEqual(["B", "_", "a", "b"]);
	});

	describe("agrees with the SQL engine on embedded PGlite", () => {
		const database = useMigratedSchema(openTestPGlite, "opening", [{ version: 1, name: "clue graph", up: CLUE_GRAPH_MIGRATION_SQL }]);

		it("on random graphs: chains, branches, joins, islands, and the odd cycle or stray path", async () => {
			const engine = new SqlClueGraph(database.client, database.schema);
			const random = seededRandom(20_260_601);
			const hex = (digits: number) => Array.from({ length: digits }, () => Math.floor(random() * 16).toString(16)).join("");
			// Random ids, so clue-id order has nothing to do with the order of the paths.
			const randomUuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`;
			const seen = { comparisons: 0, joinsOpenedByOne: 0, branches: 0, islands: 0, cycles: 0, strays: 0 };

			for (let graphIndex = 0; graphIndex < 240; graphIndex++) {
				const size = 1 + Math.floor(random() * 30);
				const clueIds = Array.from({ length: size }, randomUuid);
				const paths: CluePath[] = [];
				const addPath = (from: string, to: string) => paths.push({ from, to });
				const shape = graphIndex % 4;
				if (shape === 0) {
					for (let i = 0; i + 1 < size; i++) addPath(clueIds[i], clueIds[i + 1]);
				} else if (shape !== 1) {
					// Forward only (a DAG): sparse graphs leave islands, dense ones branch and join. Duplicates are kept on purpose.
					const density = shape === 2 ? 0.6 : 1.8;
					for (let k = 0; k < size * density; k++) {
						const from = Math.floor(random() * size);
						const to = from + 1 + Math.floor(random() * 4);
						if (to < size) addPath(clueIds[from], clueIds[to]);
					}
				}
				// Published hunts have neither, but the engines answer them too, and so must this.
				if (graphIndex % 11 === 5 && size > 2) {
					addPath(clueIds[size - 1], clueIds[Math.floor(random() * (size - 1))]);
					seen.cycles++;
				}
				if (graphIndex % 13 === 7) {
					addPath(randomUuid(), clueIds[Math.floor(random() * size)]);
					addPath(clueIds[Math.floor(random() * size)], randomUuid());
					seen.strays++;
				}

				const huntId = randomUuid();
				await engine.replace(huntId, clueIds, paths);
				const graph = compilePlayGraph({ clueIds, paths });
				expect({ graphIndex, finishes: clueIds.filter(clueId => isFinish(graph, clueId)).sort() }).toEqual({ graphIndex, finishes: await engine.finishes(huntId) });

				const predecessors = new Map(clueIds.map(clueId => [clueId, new Set(paths.filter(path => path.to === clueId).map(path => path.from))]));
				seen.branches += clueIds.filter(clueId => new Set(paths.filter(path => path.from === clueId).map(path => path.to)).size > 1).length;
				seen.islands += clueIds.filter(clueId => !paths.some(path => path.from === clueId || path.to === clueId)).length;

				for (const passed of passedSamples(random, graph, clueIds, randomUuid)) {
					const answer = openClues(graph, random() < 0.5 ? passed : new Set(passed));
					expect({ graphIndex, passed, open: answer }).toEqual({ graphIndex, passed, open: await engine.openedBy(huntId, passed) });
					seen.comparisons++;
					const passedSet = new Set(passed);
					seen.joinsOpenedByOne += answer.filter(clueId => {
						const before = [...(predecessors.get(clueId) ?? [])];
						return before.length > 1 && before.some(from => !passedSet.has(from));
					}).length;
				}
			}
			// The graphs really had what the test claims to cover.
			expect(seen.comparisons).toBeGreaterThanOrEqual(1000);
			expect(seen.joinsOpenedByOne).toBeGreaterThan(0);
			expect(seen.branches).toBeGreaterThan(0);
			expect(seen.islands).toBeGreaterThan(0);
			expect(seen.cycles).toBeGreaterThan(0);
			expect(seen.strays).toBeGreaterThan(0);
		}, 60_000);
	});
});

/**
 * Passed sets a player could have, and some no player could: none, random subsets thin to thick,
 * the clues of a game played a few steps (each step passes an open clue), and one with a clue of
 * another hunt.
 */
function passedSamples(random: () => number, graph: ReturnType<typeof compilePlayGraph>, clueIds: readonly string[], foreignId: () => string): string[][] {
	const played: string[] = [];
	for (let step = Math.floor(random() * clueIds.length); step > 0; step--) {
		const available = openClues(graph, played);
		if (!available.length) break;
		played.push(available[Math.floor(random() * available.length)]);
	}
	const subset = (share: number) => clueIds.filter(() => random() < share);
	return [[], subset(0.15), subset(0.5), subset(0.9), played, [...subset(0.3), foreignId()]];
}
