/**
 * Partner analytics per hunt: a projection of the gameplay service's progress steps, kept in the
 * analytics service's own tables and read against the hunt's clues. The projection is a copy, so it
 * can be wiped and made again from the gameplay service's own records (`rebuild`): the facts it
 * holds are keyed so that the history and the live steps it overlaps with are each counted once.
 */
import type { ProgressMessage } from "../../contracts/gameplay";
import type { SqlExecutor } from "../../platform/sql";
import { AnalyticsStore } from "./analytics-store";
import { huntReport, type HuntReport } from "./hunt-report";
import { effectsOf } from "./progress-effects";

/** A page of a hunt's history: the steps of some of its participations, and where the next page starts. */
export type HistoryPage = { items: readonly ProgressMessage[]; next?: string };

export class AnalyticsFlows {
	constructor(private readonly store: AnalyticsStore) {}

	/** One progress step, in `tx` (the transaction recording its message id). */
	record(tx: SqlExecutor, step: ProgressMessage): Promise<void> {
		return this.store.record(tx, effectsOf(step));
	}

	/** The hunt's report, against its clues (in the hunt's order) as the hunts service has them. */
	async report(huntId: string, clues: ReadonlyArray<{ id: string; title: string }>): Promise<HuntReport> {
		const { counts, clues: facts } = await this.store.facts(huntId.toLowerCase());
		return huntReport(counts, clues, facts);
	}

	/**
	 * Wipes the hunt's facts and records its history again, page after page. The wipe comes first:
	 * a step consumed meanwhile is either in the history read after it, or recorded after the wipe,
	 * and recorded once either way.
	 */
	async rebuild(huntId: string, history: (after: string | undefined) => Promise<HistoryPage>): Promise<{ huntId: string; participations: number; steps: number }> {
		const id = huntId.toLowerCase();
		await this.store.forget(id);
		const participations = new Set<string>();
		let steps = 0;
		let after: string | undefined;
		do {
			const page = await history(after);
			await this.store.recordAll(page.items.map(effectsOf));
			for (const step of page.items) participations.add(step.participationId);
			steps += page.items.length;
			after = page.next;
		} while (after !== undefined);
		return { huntId, participations: participations.size, steps };
	}
}
