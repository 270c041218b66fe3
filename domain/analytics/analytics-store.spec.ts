/**
 * The analytics projection on PGlite and PostgreSQL: a scripted play gives exact numbers, and the
 * same steps delivered twice and in reverse order, or wiped and rebuilt from a history while live
 * steps keep arriving, give the same numbers.
 */
import { randomUUID } from "node:crypto";
import type { ProgressMessage } from "../../contracts/gameplay";
import { onEverySqlEngine, useMigratedSchema } from "../../test/support/sql";
import { AnalyticsFlows, type HistoryPage } from "./analytics-flows";
import { ANALYTICS_MIGRATIONS, AnalyticsStore } from "./analytics-store";

const T0 = Date.parse("2026-06-01T10:00:00.000Z");
const minutes = (n: number) => new Date(T0 + n * 60_000).toISOString();

interface Hunt {
	id: string;
	clues: Array<{ id: string; title: string }>;
	steps: ProgressMessage[];
}

/**
 * Four players: one finishes (a hint and two wrong answers on the way), one is suspended then
 * reinstated, one is disqualified, one runs out of time.
 */
function scriptedHunt(): Hunt {
	const id = randomUUID();
	const clues = [
		{ id: randomUUID(), title: "Hill" },
		{ id: randomUUID(), title: "Bridge" },
		{ id: randomUUID(), title: "Square" },
	];
	const [hill, bridge] = clues.map(clue => clue.id);
	const steps: ProgressMessage[] = [];
	const player = (startMinute: number) => {
		const participationId = randomUUID();
		const playerId = randomUUID();
		const step = (kind: ProgressMessage["kind"], minute: number, extra: Partial<ProgressMessage> = {}) =>
			steps.push({ participationId, huntId: id, huntTitle: "Lyon trail", playerId, kind, at: minutes(minute), startedAt: minutes(startMinute), score: 0, ...extra });
		step("joined", startMinute);
		return step;
	};
	const finisher = player(0);
	finisher("discovered", 10, { clueId: hill });
	finisher("hint_taken", 11, { clueId: hill });
	finisher("answered", 12, { clueId: hill, correct: false });
	finisher("answered", 13, { clueId: hill, correct: false });
	finisher("answered", 14, { clueId: hill, correct: true });
	finisher("discovered", 20, { clueId: bridge });
	finisher("completed", 20);
	const reinstated = player(1);
	reinstated("discovered", 31, { clueId: hill });
	reinstated("flagged", 32, { flags: ["IMPOSSIBLE_SPEED"] });
	reinstated("flagged", 33, { flags: ["REPLAYED_FIX"] });
	reinstated("flagged", 34, { flags: ["FUTURE_TIMESTAMP"] });
	reinstated("suspended", 34);
	reinstated("reinstated", 40);
	const cheat = player(2);
	cheat("flagged", 3, { flags: ["IMPOSSIBLE_SPEED", "FUTURE_TIMESTAMP"] });
	cheat("flagged", 4, { flags: ["REPLAYED_FIX"] });
	cheat("flagged", 5, { flags: ["REPLAYED_FIX"] });
	cheat("suspended", 5);
	cheat("disqualified", 50);
	const late = player(3);
	late("closed", 243, { closedBy: "time_limit" });
	return { id, clues, steps };
}

const expectedReport = (hunt: Hunt) => ({
	joined: 4,
	active: 1,
	completed: 1,
	flagged: 2,
	clues: [
		// Found after 10 and 30 minutes.
		{ clueId: hunt.clues[0].id, title: "Hill", discovered: 2, medianMinutesToDiscover: 20, hintsUsed: 1, wrongAnswers: 2 },
		{ clueId: hunt.clues[1].id, title: "Bridge", discovered: 1, medianMinutesToDiscover: 20, hintsUsed: 0, wrongAnswers: 0 },
		{ clueId: hunt.clues[2].id, title: "Square", discovered: 0, medianMinutesToDiscover: null, hintsUsed: 0, wrongAnswers: 0 },
	],
});

/** The steps as a history read in pages of `perPage` participations. */
function historyOf(steps: readonly ProgressMessage[], perPage: number): (after: string | undefined) => Promise<HistoryPage> {
	const ids = [...new Set(steps.map(step => step.participationId))].sort();
	return async after => {
		const from = after === undefined ? 0 : ids.indexOf(after) + 1;
		const page = ids.slice(from, from + perPage);
		const next = from + perPage < ids.length ? page[page.length - 1] : undefined;
		return { items: steps.filter(step => page.includes(step.participationId)), ...(next ? { next } : {}) };
	};
}

onEverySqlEngine((engine, open) => {
	describe(`analytics projection on ${engine}`, () => {
		const db = useMigratedSchema(open, "analytics", ANALYTICS_MIGRATIONS);
		let flows: AnalyticsFlows;
		beforeAll(() => {
			flows = new AnalyticsFlows(new AnalyticsStore(db.client, db.schema));
		});
		const consume = async (steps: readonly ProgressMessage[]) => {
			// One transaction per message, as the channel consumer records them.
			for (const step of steps) await db.client.transaction(tx => flows.record(tx, step));
		};

		it("counts a scripted play exactly: every clue in the hunt's order, medians in minutes, only finishes as completed", async () => {
			const hunt = scriptedHunt();
			await consume(hunt.steps);
			expect(await flows.report(hunt.id, hunt.clues)).toEqual(expectedReport(hunt));
		});

		it("gives the same numbers when every step comes twice and in reverse order", async () => {
			const hunt = scriptedHunt();
			await consume([...hunt.steps].reverse());
			await consume(hunt.steps);
			await consume([...hunt.steps].reverse());
			expect(await flows.report(hunt.id, hunt.clues)).toEqual(expectedReport(hunt));
		});

		it("knows nothing of a hunt nobody played: every clue listed with zeros", async () => {
			const hunt = scriptedHunt();
			expect(await flows.report(hunt.id, hunt.clues)).toEqual({
				joined: 0,
				active: 0,
				completed: 0,
				flagged: 0,
				clues: hunt.clues.map(clue => ({ clueId: clue.id, title: clue.title, discovered: 0, medianMinutesToDiscover: null, hintsUsed: 0, wrongAnswers: 0 })),
			});
		});

		it("rebuilds a wiped hunt from its history to the same numbers, live steps arriving meanwhile counted once, other hunts untouched", async () => {
			const [hunt, other] = [scriptedHunt(), scriptedHunt()];
			await consume(hunt.steps);
			await consume(other.steps);
			const pages = historyOf(hunt.steps, 1);
			let page = 0;
			const result = await flows.rebuild(hunt.id, async after => {
				// Steps the history also holds, consumed between its pages (a backlog draining).
				if (page++ === 1) await consume(hunt.steps.slice(0, 12));
				return pages(after);
			});
			expect(result).toEqual({ huntId: hunt.id, participations: 4, steps: hunt.steps.length });
			expect(await flows.report(hunt.id, hunt.clues)).toEqual(expectedReport(hunt));
			expect(await flows.report(other.id, other.clues)).toEqual(expectedReport(other));
		});

		it("rebuilds from nothing: a hunt whose projection was lost comes back whole", async () => {
			const hunt = scriptedHunt();
			const result = await flows.rebuild(hunt.id.toUpperCase(), historyOf(hunt.steps, 3));
			expect(result.participations).toBe(4);
			expect(await flows.report(hunt.id, hunt.clues)).toEqual(expectedReport(hunt));
		});

		it("keeps a hunt's numbers whole while the same steps are recorded concurrently", async () => {
			const hunt = scriptedHunt();
			await Promise.all([consume(hunt.steps), consume(hunt.steps), consume([...hunt.steps].reverse())]);
			expect(await flows.report(hunt.id, hunt.clues)).toEqual(expectedReport(hunt));
		}, 60_000);
	});
});
