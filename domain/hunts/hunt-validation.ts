/**
 * Whether a hunt can be published, with every problem named at once (422 HUNT_INVALID lists them
 * all, so a partner fixes everything in one pass). The graph's own problems come from the clue
 * graph engine; the rest are checked here.
 */
import type { CluePath, GraphProblem } from "./clue-graph/clue-graph";
import { distanceM, type LatLon } from "./geo";

export type HuntProblemCode = "NO_CLUES" | "NO_START" | "CYCLE" | "UNREACHABLE_CLUE" | "NO_FINISH" | "CLUE_OUTSIDE_AREA" | "BAD_WINDOW" | "PATH_UNKNOWN_CLUE";

export interface HuntProblem {
	code: HuntProblemCode;
	clueId?: string;
	message: string;
}

export interface HuntToValidate {
	area: LatLon & { radiusM: number };
	startsAt: string;
	endsAt: string;
	clues: ReadonlyArray<{ id: string; title: string; position: LatLon }>;
}

/** The paths between the hunt's own clues, and those naming a clue it does not have. */
export function splitPaths(clueIds: ReadonlySet<string>, paths: readonly CluePath[]): { known: CluePath[]; unknown: CluePath[] } {
	const known: CluePath[] = [];
	const unknown: CluePath[] = [];
	for (const path of paths) (clueIds.has(path.from) && clueIds.has(path.to) ? known : unknown).push(path);
	return { known, unknown };
}

const GRAPH_MESSAGES: Record<GraphProblem["code"], (title?: string) => string> = {
	NO_START: () => "Every clue has a path leading to it: no clue to start from",
	NO_FINISH: () => "Every clue has a path leaving it: no clue finishes the hunt",
	CYCLE: title => `Clue "${title}" is on a cycle of paths`,
	UNREACHABLE_CLUE: title => `Clue "${title}" cannot be reached from a start clue`,
};

export function huntProblems(hunt: HuntToValidate, unknownPaths: readonly CluePath[], graph: readonly GraphProblem[], now: Date): HuntProblem[] {
	const problems: HuntProblem[] = [];
	const titles = new Map(hunt.clues.map(clue => [clue.id, clue.title]));
	const starts = Date.parse(hunt.startsAt);
	const ends = Date.parse(hunt.endsAt);
	if (!(ends > starts)) problems.push({ code: "BAD_WINDOW", message: "The hunt must end after it starts" });
	else if (!(ends > now.getTime())) problems.push({ code: "BAD_WINDOW", message: "The hunt's window is over: it must end in the future" });
	if (hunt.clues.length === 0) problems.push({ code: "NO_CLUES", message: "A hunt needs at least one clue" });
	for (const clue of hunt.clues) {
		if (distanceM(hunt.area, clue.position) > hunt.area.radiusM) problems.push({ code: "CLUE_OUTSIDE_AREA", clueId: clue.id, message: `Clue "${clue.title}" lies outside the hunt's area` });
	}
	for (const path of unknownPaths) {
		const missing = titles.has(path.from) ? path.to : path.from;
		problems.push({ code: "PATH_UNKNOWN_CLUE", clueId: missing, message: `A path names clue ${missing}, which is not in this hunt` });
	}
	for (const problem of graph) problems.push({ ...problem, message: GRAPH_MESSAGES[problem.code](problem.clueId ? titles.get(problem.clueId) : undefined) });
	return problems;
}
