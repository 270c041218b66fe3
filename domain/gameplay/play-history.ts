/**
 * A hunt's play told again as progress steps, from the gameplay service's own tables: what the
 * projections fed by `gameplay.progress` (partner analytics) are rebuilt from when they are lost.
 *
 * The tables keep the moment of each joining, discovery, solved challenge, hint, wrong answer, flag
 * and finish: those steps come back exactly as they were sent. They keep neither the score after
 * each step (every step carries the score now) nor a review's moment, so the state a participation
 * ended in is told at the latest moment the tables vouch for: a suspension or a disqualification at
 * its last flag (repeated flags suspend; only a suspended participation is disqualified), a closing
 * by time when it fell due. A reinstatement leaves no trace beyond the participation being active.
 */
import type { ProgressMessage } from "../../contracts/gameplay";
import type { SqlExecutor } from "../../platform/sql";
import type { ParticipationRowSummary } from "./play-store";

type Kind = ProgressMessage["kind"];
type FlagCode = NonNullable<ProgressMessage["flags"]>[number];

/** Of steps at the same moment, the order they were sent in. */
const SENT_ORDER: Record<Kind, number> = {
	joined: 0,
	flagged: 1,
	suspended: 2,
	discovered: 3,
	hint_taken: 4,
	answered: 5,
	completed: 6,
	closed: 7,
	reinstated: 8,
	disqualified: 9,
};

export interface HistoryNames {
	huntTitle: string;
	/** Clue id → title, for the steps about a clue. */
	clueTitles?: ReadonlyMap<string, string>;
}

export class PlayHistory {
	private readonly participations: string;
	private readonly discoveries: string;
	private readonly hints: string;
	private readonly wrongAnswers: string;
	private readonly flags: string;

	constructor(
		private readonly db: SqlExecutor,
		schema: string,
	) {
		const table = (name: string) => `"${schema}".${name}`;
		this.participations = table("participations");
		this.discoveries = table("discoveries");
		this.hints = table("hints_taken");
		this.wrongAnswers = table("wrong_answers");
		this.flags = table("flags");
	}

	/**
	 * The steps of up to `limit` of the hunt's participations (by id, after `after`), each
	 * participation's oldest first; `next` names where the following page starts.
	 */
	async page(huntId: string, after: string | undefined, limit: number, names: HistoryNames): Promise<{ items: ProgressMessage[]; next?: string }> {
		const found = await this.db.query<ParticipationRowSummary>(
			`select id, hunt_id, player_id, state, score, started_at, completed_at, closes_at, closed_by from ${this.participations}
			 where hunt_id = $1 and ($2::uuid is null or id > $2::uuid) order by id limit $3`,
			[huntId, after ?? null, limit],
		);
		const rows = found.rows;
		if (!rows.length) return { items: [] };
		const first = rows[0].id;
		const last = rows[rows.length - 1].id;
		// The page's participations by their id range: facts of one that joined in between are left out below.
		const ofPage = async <Row>(table: string, columns: string): Promise<Array<Row & { participation_id: string }>> =>
			(
				await this.db.query<Row & { participation_id: string }>(
					`select f.participation_id, ${columns} from ${table} f join ${this.participations} p on p.id = f.participation_id
					 where p.hunt_id = $1 and p.id between $2::uuid and $3::uuid`,
					[huntId, first, last],
				)
			).rows;
		const [discoveries, hints, wrong, flags] = await Promise.all([
			ofPage<{ clue_id: string; discovered_at: Date; solved_at: Date | null }>(this.discoveries, "f.clue_id, f.discovered_at, f.solved_at"),
			ofPage<{ clue_id: string; taken_at: Date }>(this.hints, "f.clue_id, f.taken_at"),
			ofPage<{ clue_id: string; answered_at: Date }>(this.wrongAnswers, "f.clue_id, f.answered_at"),
			ofPage<{ id: string; code: FlagCode; raised_at: Date }>(this.flags, "f.id, f.code, f.raised_at"),
		]);

		const steps = new Map<string, Array<Omit<ProgressMessage, "participationId" | "huntId" | "playerId" | "startedAt" | "score" | "huntTitle">>>();
		const add = (participationId: string, kind: Kind, at: Date, details: Partial<ProgressMessage> = {}) => {
			steps.get(participationId)?.push({ kind, at: at.toISOString(), ...details });
		};
		const clue = (clueId: string) => ({ clueId, ...(names.clueTitles?.has(clueId) ? { clueTitle: names.clueTitles.get(clueId) } : {}) });
		for (const row of rows) steps.set(row.id, [{ kind: "joined", at: row.started_at.toISOString() }]);
		for (const row of discoveries) {
			add(row.participation_id, "discovered", row.discovered_at, clue(row.clue_id));
			if (row.solved_at) add(row.participation_id, "answered", row.solved_at, { ...clue(row.clue_id), correct: true });
		}
		for (const row of hints) add(row.participation_id, "hint_taken", row.taken_at, clue(row.clue_id));
		for (const row of wrong) add(row.participation_id, "answered", row.answered_at, { ...clue(row.clue_id), correct: false });
		// One flagged step per flagged fix: its flags share their moment.
		const flagged = new Map<string, { at: Date; codes: FlagCode[] }>();
		for (const row of flags.sort((a, b) => a.raised_at.getTime() - b.raised_at.getTime() || a.id.localeCompare(b.id))) {
			const key = `${row.participation_id} ${row.raised_at.getTime()}`;
			const fix = flagged.get(key) ?? { at: row.raised_at, codes: [] };
			fix.codes.push(row.code);
			flagged.set(key, fix);
		}
		const lastFlag = new Map<string, Date>();
		for (const [key, fix] of flagged) {
			const participationId = key.split(" ")[0];
			add(participationId, "flagged", fix.at, { flags: fix.codes });
			if (!lastFlag.has(participationId) || lastFlag.get(participationId)! < fix.at) lastFlag.set(participationId, fix.at);
		}

		const items: ProgressMessage[] = [];
		for (const row of rows) {
			const own = steps.get(row.id)!;
			const latest = () => new Date(Math.max(...own.map(step => Date.parse(step.at))));
			if (row.completed_at) add(row.id, "completed", row.completed_at);
			else if (row.state === "completed") add(row.id, "closed", row.closes_at ?? latest(), row.closed_by ? { closedBy: row.closed_by } : {});
			if (row.state === "suspended" || row.state === "disqualified") {
				const at = lastFlag.get(row.id) ?? latest();
				add(row.id, "suspended", at);
				if (row.state === "disqualified") add(row.id, "disqualified", at);
			}
			own.sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || SENT_ORDER[a.kind] - SENT_ORDER[b.kind]);
			for (const step of own) {
				items.push({
					participationId: row.id,
					huntId: row.hunt_id,
					huntTitle: names.huntTitle,
					playerId: row.player_id,
					startedAt: row.started_at.toISOString(),
					score: row.score,
					...step,
				});
			}
		}
		return { items, ...(rows.length === limit ? { next: last } : {}) };
	}
}
