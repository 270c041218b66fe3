/**
 * What every clue-graph engine must answer, as jest tests: hand-written graphs with their answers
 * written out, then random graphs (cycles, islands, branches) checked against an independent graph
 * library (graphology), used only here. clue-graph.spec.ts runs it on SQL (PGlite and PostgreSQL);
 * neo4j-clue-graph.spec.ts on Neo4j.
 */
import { randomUUID } from "node:crypto";
import { DirectedGraph } from "graphology";
import { stronglyConnectedComponents } from "graphology-components";
import { bidirectional } from "graphology-shortest-path/unweighted";
import { bfsFromNode } from "graphology-traversal";
import type { ClueGraph, CluePath, GraphProblem } from "./clue-graph";

/** Clue `n` of a fixture: a fixed UUID whose order follows n, so expected lists read in order. */
const c = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const p = (from: number, to: number): CluePath => ({ from: c(from), to: c(to) });

export function clueGraphContract(engine: string, open: () => Promise<ClueGraph>, close: (graph: ClueGraph) => Promise<void> = graph => graph.close()): void {
	describe(`clue graph on ${engine}`, () => {
		let graph: ClueGraph;
		beforeAll(async () => {
			graph = await open();
		});
		afterAll(() => close(graph));

		const load = async (clues: number[], paths: CluePath[]) => {
			const huntId = randomUUID();
			await graph.replace(
				huntId,
				clues.map(n => c(n)),
				paths,
			);
			return huntId;
		};

		it("answers a linear hunt", async () => {
			const hunt = await load([1, 2, 3], [p(1, 2), p(2, 3)]);
			expect(await graph.problems(hunt)).toEqual([]);
			expect(await graph.starts(hunt)).toEqual([c(1)]);
			expect(await graph.finishes(hunt)).toEqual([c(3)]);
			expect(await graph.openedBy(hunt, [])).toEqual([c(1)]);
			expect(await graph.openedBy(hunt, [c(1)])).toEqual([c(2)]);
			expect(await graph.reachableFrom(hunt, c(1))).toEqual([c(2), c(3)]);
			expect(await graph.shortestPathLength(hunt, c(1), c(3))).toBe(2);
			expect(await graph.shortestPathLength(hunt, c(3), c(1))).toBeNull();
			expect(await graph.shortestPathLength(hunt, c(2), c(2))).toBe(0);
		});

		it("answers a free-order hunt: every clue starts and finishes", async () => {
			const hunt = await load([1, 2, 3], []);
			expect(await graph.problems(hunt)).toEqual([]);
			expect(await graph.starts(hunt)).toEqual([c(1), c(2), c(3)]);
			expect(await graph.finishes(hunt)).toEqual([c(1), c(2), c(3)]);
			expect(await graph.openedBy(hunt, [c(2)])).toEqual([c(1), c(3)]);
		});

		it("opens a branch's clues on any solved clue leading there, and a join on either branch", async () => {
			// 1 → 2, 1 → 3, 2 → 4, 3 → 4, 4 → 5
			const hunt = await load([1, 2, 3, 4, 5], [p(1, 2), p(1, 3), p(2, 4), p(3, 4), p(4, 5)]);
			expect(await graph.problems(hunt)).toEqual([]);
			expect(await graph.openedBy(hunt, [c(1)])).toEqual([c(2), c(3)]);
			expect(await graph.openedBy(hunt, [c(1), c(3)])).toEqual([c(2), c(4)]);
			expect(await graph.shortestPathLength(hunt, c(1), c(5))).toBe(3);
		});

		it("names every problem: a cycle, clues no start reaches, no finish", async () => {
			// 1 → 2 → 1 (cycle, with a start); 3 → 4 → 5 → 3 (an island that is all cycle)
			const hunt = await load([1, 2, 3, 4, 5, 6], [p(6, 1), p(1, 2), p(2, 1), p(3, 4), p(4, 5), p(5, 3)]);
			const expected: GraphProblem[] = [
				{ code: "NO_FINISH" },
				{ code: "CYCLE", clueId: c(1) },
				{ code: "CYCLE", clueId: c(2) },
				{ code: "CYCLE", clueId: c(3) },
				{ code: "CYCLE", clueId: c(4) },
				{ code: "CYCLE", clueId: c(5) },
				{ code: "UNREACHABLE_CLUE", clueId: c(3) },
				{ code: "UNREACHABLE_CLUE", clueId: c(4) },
				{ code: "UNREACHABLE_CLUE", clueId: c(5) },
			];
			expect(await graph.problems(hunt)).toEqual(expected);
			expect(await graph.reachableFrom(hunt, c(1))).toEqual([c(1), c(2)]);
		});

		it("says a graph that is one cycle has no start", async () => {
			const hunt = await load([1, 2], [p(1, 2), p(2, 1)]);
			expect(await graph.problems(hunt)).toEqual([
				{ code: "NO_START" },
				{ code: "NO_FINISH" },
				{ code: "CYCLE", clueId: c(1) },
				{ code: "CYCLE", clueId: c(2) },
				{ code: "UNREACHABLE_CLUE", clueId: c(1) },
				{ code: "UNREACHABLE_CLUE", clueId: c(2) },
			]);
			expect(await graph.starts(hunt)).toEqual([]);
		});

		it("treats a path from a clue to itself as a cycle", async () => {
			const hunt = await load([1, 2], [p(1, 2), p(2, 2)]);
			expect(await graph.problems(hunt)).toEqual([{ code: "NO_FINISH" }, { code: "CYCLE", clueId: c(2) }]);
		});

		it("keeps hunts apart, replaces a graph whole, and forgets a removed one", async () => {
			const a = await load([1, 2], [p(1, 2)]);
			const b = await load([1, 2], [p(2, 1)]);
			expect(await graph.starts(a)).toEqual([c(1)]);
			expect(await graph.starts(b)).toEqual([c(2)]);
			await graph.replace(a, [c(7)], []);
			expect(await graph.starts(a)).toEqual([c(7)]);
			await graph.remove(a);
			expect(await graph.starts(a)).toEqual([]);
			expect(await graph.problems(a)).toEqual([]);
			expect(await graph.starts(b)).toEqual([c(2)]);
		});

		it("agrees with an independent graph library on random graphs with cycles, islands and branches", async () => {
			const seenShapes = { cycles: 0, unreachable: 0, branches: 0, starts: 0 };
			let seed = 20261201;
			const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
			for (const [size, density] of [
				[40, 1.2],
				[200, 1.0],
				[300, 0.7],
			] as const) {
				const clues = Array.from({ length: size }, (_, i) => c(i + 1));
				const paths: CluePath[] = [];
				const seen = new Set<string>();
				const addPath = (from: string, to: string) => {
					if (seen.has(`${from}>${to}`)) return;
					seen.add(`${from}>${to}`);
					paths.push({ from, to });
				};
				// The last five clues are an island that is one cycle: no start reaches it.
				const main = size - 5;
				for (let k = main; k < size; k++) addPath(clues[k], clues[k + 1 < size ? k + 1 : main]);
				for (let i = 0; i < main * density; i++) {
					const index = Math.floor(random() * main);
					// Mostly forward (branches and joins), sometimes back (cycles); clues no path touches are islands.
					const to = random() < 0.85 ? Math.min(main - 1, index + 1 + Math.floor(random() * 5)) : Math.floor(random() * main);
					addPath(clues[index], clues[to]);
				}
				const huntId = randomUUID();
				await graph.replace(huntId, clues, paths);

				const reference = new DirectedGraph();
				for (const clue of clues) reference.addNode(clue);
				for (const { from, to } of paths) reference.mergeEdge(from, to);
				const sorted = (ids: Iterable<string>) => [...ids].sort();
				const starts = sorted(clues.filter(clue => reference.inDegree(clue) === 0));
				const finishes = sorted(clues.filter(clue => reference.outDegree(clue) === 0));
				const onCycles = sorted(stronglyConnectedComponents(reference).flatMap(component => (component.length > 1 || reference.hasEdge(component[0], component[0]) ? component : [])));
				const reached = new Set<string>();
				for (const start of starts) bfsFromNode(reference, start, node => void reached.add(node));
				const expected: GraphProblem[] = [
					...(starts.length ? [] : [{ code: "NO_START" as const }]),
					...(finishes.length ? [] : [{ code: "NO_FINISH" as const }]),
					...onCycles.map(clueId => ({ code: "CYCLE" as const, clueId })),
					...sorted(clues.filter(clue => !reached.has(clue))).map(clueId => ({ code: "UNREACHABLE_CLUE" as const, clueId })),
				];
				seenShapes.cycles += onCycles.length;
				seenShapes.unreachable += expected.filter(problem => problem.code === "UNREACHABLE_CLUE").length;
				seenShapes.branches += clues.filter(clue => reference.outDegree(clue) > 1).length;
				seenShapes.starts += starts.length;
				expect(await graph.starts(huntId)).toEqual(starts);
				expect(await graph.finishes(huntId)).toEqual(finishes);
				expect(await graph.problems(huntId)).toEqual(expected);

				for (let probe = 0; probe < 5; probe++) {
					const from = clues[Math.floor(random() * size)];
					const to = clues[Math.floor(random() * size)];
					const beyond = new Set<string>();
					for (const next of reference.outNeighbors(from)) bfsFromNode(reference, next, node => void beyond.add(node));
					expect(await graph.reachableFrom(huntId, from)).toEqual(sorted(beyond));
					const route = from === to ? [from] : bidirectional(reference, from, to);
					expect(await graph.shortestPathLength(huntId, from, to)).toBe(route ? route.length - 1 : null);
					const solved = clues.filter(() => random() < 0.2);
					const solvedSet = new Set(solved);
					const opened = clues.filter(clue => !solvedSet.has(clue) && (reference.inDegree(clue) === 0 || reference.inNeighbors(clue).some(before => solvedSet.has(before))));
					expect(await graph.openedBy(huntId, solved)).toEqual(sorted(opened));
				}
			}
			// The graphs really had what the test claims to cover.
			expect(seenShapes.cycles).toBeGreaterThan(0);
			expect(seenShapes.unreachable).toBeGreaterThan(0);
			expect(seenShapes.branches).toBeGreaterThan(0);
			expect(seenShapes.starts).toBeGreaterThan(3);
		}, 120_000);
	});
}
