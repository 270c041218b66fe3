import { isComplete } from "./completion";
import { compilePlayGraph } from "./opening";

const graph = (clueIds: string[], paths: Array<[string, string]> = []) => compilePlayGraph({ clueIds, paths: paths.map(([from, to]) => ({ from, to })) });
const passed = (...ids: string[]) => new Set(ids);

describe("isComplete", () => {
	it("completes a linear hunt at its last clue, not before", () => {
		const linear = graph(
			["a", "b", "c"],
			[
				["a", "b"],
				["b", "c"],
			],
		);
		expect(isComplete(linear, passed("a", "b"))).toBe(false);
		expect(isComplete(linear, passed("a", "b", "c"))).toBe(true);
	});

	it("completes a free-order hunt only once every clue is passed", () => {
		const freeOrder = graph(["a", "b", "c"]);
		expect(isComplete(freeOrder, passed("a"))).toBe(false);
		expect(isComplete(freeOrder, passed("a", "c"))).toBe(false);
		expect(isComplete(freeOrder, passed("c", "b", "a"))).toBe(true);
	});

	it("completes a branching hunt at the end of whichever branch the player took", () => {
		const branching = graph(
			["fork", "left", "right", "leftEnd", "rightEnd"],
			[
				["fork", "left"],
				["fork", "right"],
				["left", "leftEnd"],
				["right", "rightEnd"],
			],
		);
		expect(isComplete(branching, passed("fork", "right"))).toBe(false);
		expect(isComplete(branching, passed("fork", "right", "rightEnd"))).toBe(true);
	});

	it("treats lone clues beside a trail as optional", () => {
		const trailAndExtras = graph(["a", "b", "extra1", "extra2"], [["a", "b"]]);
		expect(isComplete(trailAndExtras, passed("extra1", "extra2"))).toBe(false);
		expect(isComplete(trailAndExtras, passed("a", "b"))).toBe(true);
	});

	it("completes a one-clue hunt at its clue", () => {
		expect(isComplete(graph(["only"]), passed())).toBe(false);
		expect(isComplete(graph(["only"]), passed("only"))).toBe(true);
	});

	it("counts no clue of another hunt and never completes a hunt without clues", () => {
		expect(isComplete(graph(["a", "b"]), passed("a", "elsewhere"))).toBe(false);
		expect(isComplete(graph([]), passed("elsewhere"))).toBe(false);
	});
});
