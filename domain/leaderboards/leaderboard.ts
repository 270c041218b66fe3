/**
 * A hunt's live leaderboard: ranked by score, then by finish time (earlier first; a finisher before
 * a player still walking with the same score). Kept in the shared store's sorted sets (memory on
 * one node, Redis in a cluster: one contract suite holds both), one set per hunt, each player's
 * rank worked into one number. It is a view of the participations, fed by the gameplay service's
 * durable `gameplay.standings` channel and rebuilt from them at will.
 */
import type { KeyValueStore } from "../../platform/store";

/** What the gameplay service says of one participation each time its score or state changes. */
export interface Standing {
	huntId: string;
	playerId: string;
	state: "active" | "completed" | "suspended" | "disqualified";
	score: number;
	completedAt: string | null;
	/**
	 * The participation's count of committed changes when this was sent: standings can arrive out of
	 * order (a message retried after later ones were sent), and a lower one is older. Absent in
	 * standings sent before it existed, which then apply as they come.
	 */
	version?: number;
}

/**
 * Finish times count in seconds from 2020, which fit below FINISH_SLOTS for three centuries; a
 * score then takes the digits above them. A double holds every integer to 2^53 ≈ 9.0e15 exactly, so
 * scores up to 9 million rank exactly (a hunt's points are at most 10,000 per clue).
 */
const EPOCH_SECONDS = Date.UTC(2020, 0, 1) / 1000;
const FINISH_SLOTS = 1e10;
export const MAX_RANKED_SCORE = Math.floor(Number.MAX_SAFE_INTEGER / FINISH_SLOTS) - 1;

/** Higher ranks first: a higher score, then an earlier finish, then not finished. */
export function rankValue(score: number, completedAt: string | null): number {
	const bounded = Math.max(0, Math.min(MAX_RANKED_SCORE, Math.round(score)));
	const finish = completedAt ? FINISH_SLOTS - 1 - (Math.floor(Date.parse(completedAt) / 1000) - EPOCH_SECONDS) : 0;
	return bounded * FINISH_SLOTS + finish;
}

export function fromRankValue(value: number): { score: number; completedAt: string | null } {
	const score = Math.floor(value / FINISH_SLOTS);
	const finish = value - score * FINISH_SLOTS;
	return { score, completedAt: finish === 0 ? null : new Date((FINISH_SLOTS - 1 - finish + EPOCH_SECONDS) * 1000).toISOString() };
}

export interface RankedPlayer {
	rank: number;
	playerId: string;
	score: number;
	completedAt?: string;
}

export class Leaderboards {
	/** The store prefixes every key with the deployment's namespace itself. */
	constructor(private readonly store: KeyValueStore) {}

	private keyOf(huntId: string): string {
		return `leaderboard:${huntId}`;
	}

	private heldKeyOf(huntId: string, playerId: string): string {
		return `leaderboard-standing:${huntId}:${playerId}`;
	}

	/**
	 * A disqualified player leaves the board; everyone else stands at their newest standing. Each
	 * player's newest is held beside the board and only ever replaced by a newer one
	 * (compare-and-set), so a late, older standing changes nothing, on any number of consumers.
	 */
	async apply(standing: Standing): Promise<void> {
		const held = this.heldKeyOf(standing.huntId, standing.playerId);
		const incoming = JSON.stringify(heldOf(standing));
		for (;;) {
			const current = await this.store.get(held);
			if (current === null) {
				if (await this.store.set(held, incoming, { onlyIfAbsent: true })) break;
				continue;
			}
			const version = parseHeld(current)?.version;
			// A standing without a version (sent before standings had one) replaces only another such.
			const newer = standing.version === undefined ? version === undefined : version === undefined || standing.version > version;
			if (!newer) break;
			if (await this.store.replace(held, current, incoming)) break;
		}
		await this.showHeld(standing.huntId, standing.playerId);
	}

	/**
	 * Puts the player's held standing on the board, then checks it was not replaced meanwhile: two
	 * consumers writing the board for one player end with the newest, whichever writes last.
	 */
	private async showHeld(huntId: string, playerId: string): Promise<void> {
		const held = this.heldKeyOf(huntId, playerId);
		const key = this.keyOf(huntId);
		for (let shown = await this.store.get(held); shown !== null;) {
			const standing = JSON.parse(shown) as HeldStanding;
			if (standing.state === "disqualified") await this.store.zRem(key, playerId);
			else await this.store.zAdd(key, playerId, rankValue(standing.score, standing.completedAt));
			const now = await this.store.get(held);
			if (now === shown) return;
			shown = now;
		}
	}

	/** Players tied on score and finish share a rank (1, 2, 2, 4). */
	async top(huntId: string, limit: number): Promise<RankedPlayer[]> {
		const members = await this.store.zRangeByRank(this.keyOf(huntId), 0, limit - 1, { descending: true });
		const ranked: RankedPlayer[] = [];
		members.forEach((member, index) => {
			const previous = ranked[index - 1];
			const { score, completedAt } = fromRankValue(member.score);
			const rank = previous && members[index - 1].score === member.score ? previous.rank : index + 1;
			ranked.push({ rank, playerId: member.member, score, ...(completedAt ? { completedAt } : {}) });
		});
		return ranked;
	}

	/**
	 * The hunt's board made again from these standings (the participations, read afresh): each is
	 * applied as if it had just arrived, so one newer than the participation read (a change that
	 * committed meanwhile, and whose standing came) stays. Players disappear from the board while it
	 * refills.
	 */
	async rebuild(huntId: string, standings: readonly Standing[]): Promise<number> {
		await this.store.del(this.keyOf(huntId));
		for (const standing of standings) await this.apply({ ...standing, huntId });
		return this.store.zCard(this.keyOf(huntId));
	}
}

type HeldStanding = Pick<Standing, "state" | "score" | "completedAt" | "version">;

/** A held standing, or undefined for a value that is not one (then replaced by the next standing). */
function parseHeld(value: string): HeldStanding | undefined {
	try {
		const held = JSON.parse(value) as HeldStanding | null;
		return held && typeof held.score === "number" && typeof held.state === "string" ? held : undefined;
	} catch {
		return undefined;
	}
}

function heldOf(standing: Standing): HeldStanding {
	return { state: standing.state, score: standing.score, completedAt: standing.completedAt, ...(standing.version === undefined ? {} : { version: standing.version }) };
}
