/**
 * Rewards and their claims: the rewards service's own tables. A claim takes two transactions, the
 * steps of the claim flow (claim-flow.ts):
 * - reserve: the player's reservation row (one per reward and player: a second concurrent claim of
 *   theirs meets it) and one of the stock, taken by one conditional update under the reward row's
 *   lock: of any number of concurrent claims, exactly `remaining` get one;
 * - issue: the reservation becomes a claim with a new code, in the caller's transaction (where the
 *   audit fact and the message about it are written).
 * A reservation that never became a claim (the flow failed and gave it back, or its process died
 * between the steps) returns its stock: released by the flow's compensation, or swept once lapsed.
 * Codes are unique by construction (100 random bits) and by constraint.
 */
import { randomUUID } from "node:crypto";
import type { Migration, SqlClient, SqlExecutor } from "../../platform/sql";
import type { RewardRule } from "./eligibility";
import { newRedemptionCode } from "./redemption-code";

export const REWARDS_MIGRATIONS: readonly Migration[] = [
	{
		version: 1,
		name: "rewards and claims",
		up: `
			create table rewards (
				id uuid primary key,
				hunt_id uuid not null,
				partner_id uuid not null,
				title text not null,
				description text not null,
				rule jsonb not null,
				stock integer not null check (stock >= 0),
				remaining integer not null check (remaining >= 0 and remaining <= stock),
				created_at timestamptz not null
			);
			create index rewards_hunt on rewards (hunt_id);

			create table claims (
				reward_id uuid not null references rewards (id),
				player_id uuid not null,
				code text not null unique,
				claimed_at timestamptz not null,
				redeemed_at timestamptz,
				redeemed_by uuid,
				primary key (reward_id, player_id)
			);
		`,
	},
	{
		version: 2,
		name: "reservations between the claim flow's steps",
		up: `
			create table reservations (
				reward_id uuid not null references rewards (id),
				player_id uuid not null,
				reserved_at timestamptz not null,
				primary key (reward_id, player_id)
			);
			create index reservations_age on reservations (reserved_at);
			create index claims_reward on claims (reward_id, claimed_at);
		`,
	},
];

export interface Reward {
	id: string;
	huntId: string;
	partnerId: string;
	title: string;
	description: string;
	rule: RewardRule;
	stock: number;
	remaining: number;
	createdAt: Date;
}

type RewardRow = { id: string; hunt_id: string; partner_id: string; title: string; description: string; rule: RewardRule; stock: number; remaining: number; created_at: Date };

export type ReserveResult = { kind: "reserved" } | { kind: "exhausted" } | { kind: "already"; code: string } | { kind: "pending" };
export type RedeemResult = { kind: "redeemed"; rewardId: string; redeemedAt: Date } | { kind: "unknown" } | { kind: "already"; rewardId: string; redeemedAt: Date };

export class RewardStore {
	private readonly rewards: string;
	private readonly claims: string;
	private readonly reservations: string;

	constructor(
		readonly db: SqlClient,
		schema: string,
	) {
		this.rewards = `"${schema}".rewards`;
		this.claims = `"${schema}".claims`;
		this.reservations = `"${schema}".reservations`;
	}

	async create(fields: Omit<Reward, "id" | "remaining" | "createdAt">, now: Date, db: SqlExecutor = this.db): Promise<Reward> {
		const id = randomUUID();
		const found = await db.query<RewardRow>(
			`insert into ${this.rewards} (id, hunt_id, partner_id, title, description, rule, stock, remaining, created_at)
			 values ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $7, $8) returning *`,
			[id, fields.huntId, fields.partnerId, fields.title, fields.description, JSON.stringify(fields.rule), fields.stock, now],
		);
		return rewardOf(found.rows[0]);
	}

	async get(id: string, db: SqlExecutor = this.db): Promise<Reward | undefined> {
		const found = await db.query<RewardRow>(`select * from ${this.rewards} where id = $1`, [id]);
		return found.rows[0] && rewardOf(found.rows[0]);
	}

	/** More of the reward: both its stock and what remains grow by `added`. */
	async topUp(id: string, added: number, db: SqlExecutor = this.db): Promise<Reward | undefined> {
		const found = await db.query<RewardRow>(`update ${this.rewards} set stock = stock + $2, remaining = remaining + $2 where id = $1 returning *`, [id, added]);
		return found.rows[0] && rewardOf(found.rows[0]);
	}

	/**
	 * One of the stock held for the player until `issue` makes it theirs: `already` when they hold a
	 * code (even once the stock ran out), `pending` while another claim of theirs is between its steps.
	 */
	async reserve(rewardId: string, playerId: string, now: Date): Promise<ReserveResult> {
		return this.db.transaction(async tx => {
			const held = await tx.query(`insert into ${this.reservations} (reward_id, player_id, reserved_at) values ($1, $2, $3) on conflict do nothing`, [rewardId, playerId, now]);
			// Looked for after taking the reservation, not before: an insert that waited for another claim
			// of theirs to finish issuing (it deleted its reservation) sees that claim's code here.
			const code = await this.codeOf(tx, rewardId, playerId);
			if (code) {
				if (held.rowCount === 1) await tx.query(`delete from ${this.reservations} where reward_id = $1 and player_id = $2`, [rewardId, playerId]);
				return { kind: "already" as const, code };
			}
			if (held.rowCount !== 1) return { kind: "pending" as const };
			const taken = await tx.query(`update ${this.rewards} set remaining = remaining - 1 where id = $1 and remaining > 0`, [rewardId]);
			if (taken.rowCount === 1) return { kind: "reserved" as const };
			await tx.query(`delete from ${this.reservations} where reward_id = $1 and player_id = $2`, [rewardId, playerId]);
			return { kind: "exhausted" as const };
		});
	}

	/** Gives a reservation's stock back; false when there was none (issued, released or swept already). */
	async release(rewardId: string, playerId: string): Promise<boolean> {
		return this.db.transaction(async tx => {
			const released = await tx.query(`delete from ${this.reservations} where reward_id = $1 and player_id = $2`, [rewardId, playerId]);
			if (released.rowCount !== 1) return false;
			await tx.query(`update ${this.rewards} set remaining = remaining + 1 where id = $1`, [rewardId]);
			return true;
		});
	}

	/** The player's reservation becomes their claim with a new code, in `tx`; undefined when the reservation is gone (swept). */
	async issue(tx: SqlExecutor, rewardId: string, playerId: string, now: Date): Promise<string | undefined> {
		const reserved = await tx.query(`delete from ${this.reservations} where reward_id = $1 and player_id = $2`, [rewardId, playerId]);
		if (reserved.rowCount !== 1) return undefined;
		const code = newRedemptionCode();
		await tx.query(`insert into ${this.claims} (reward_id, player_id, code, claimed_at) values ($1, $2, $3, $4)`, [rewardId, playerId, code, now]);
		return code;
	}

	/** Reservations older than `before` (their flow died between its steps) give their stock back; resolves how many. */
	async sweepLapsed(before: Date): Promise<number> {
		return this.db.transaction(async tx => {
			const lapsed = await tx.query<{ reward_id: string; n: number }>(
				`with lapsed as (delete from ${this.reservations} where reserved_at < $1 returning reward_id)
				 select reward_id, count(*)::int as n from lapsed group by reward_id`,
				[before],
			);
			for (const row of lapsed.rows) await tx.query(`update ${this.rewards} set remaining = remaining + $2 where id = $1`, [row.reward_id, row.n]);
			return lapsed.rows.reduce((sum, row) => sum + row.n, 0);
		});
	}

	/** The reward a code belongs to and its partner: who may redeem it. */
	async codeOwner(code: string): Promise<{ rewardId: string; partnerId: string } | undefined> {
		const found = await this.db.query<{ reward_id: string; partner_id: string }>(
			`select c.reward_id, r.partner_id from ${this.claims} c join ${this.rewards} r on r.id = c.reward_id where c.code = $1`,
			[code],
		);
		const row = found.rows[0];
		return row && { rewardId: row.reward_id, partnerId: row.partner_id };
	}

	async forHunt(huntId: string): Promise<Reward[]> {
		const found = await this.db.query<RewardRow>(`select * from ${this.rewards} where hunt_id = $1 order by created_at, id`, [huntId]);
		return found.rows.map(rewardOf);
	}

	/** For operators: how many claimed and redeemed, and the newest claims (without their codes). */
	async claimsOf(rewardId: string, limit: number): Promise<{ claimed: number; redeemed: number; reserved: number; recent: Array<{ playerId: string; claimedAt: Date; redeemedAt: Date | null }> }> {
		const [counts, reserved, recent] = await Promise.all([
			this.db.query<{ claimed: number; redeemed: number }>(`select count(*)::int as claimed, count(redeemed_at)::int as redeemed from ${this.claims} where reward_id = $1`, [rewardId]),
			this.db.query<{ n: number }>(`select count(*)::int as n from ${this.reservations} where reward_id = $1`, [rewardId]),
			this.db.query<{ player_id: string; claimed_at: Date; redeemed_at: Date | null }>(
				`select player_id, claimed_at, redeemed_at from ${this.claims} where reward_id = $1 order by claimed_at desc limit $2`,
				[rewardId, limit],
			),
		]);
		return {
			claimed: counts.rows[0].claimed,
			redeemed: counts.rows[0].redeemed,
			reserved: reserved.rows[0].n,
			recent: recent.rows.map(row => ({ playerId: row.player_id, claimedAt: row.claimed_at, redeemedAt: row.redeemed_at })),
		};
	}

	/** The code the player holds for the reward, if any. */
	codeFor(rewardId: string, playerId: string): Promise<string | undefined> {
		return this.codeOf(this.db, rewardId, playerId);
	}

	/** Marks the code redeemed, once; `partnerId` limits it to that partner's rewards. */
	async redeem(code: string, partnerId: string, by: string, now: Date, db: SqlExecutor = this.db): Promise<RedeemResult> {
		const redeemed = await db.query<{ reward_id: string; redeemed_at: Date }>(
			`update ${this.claims} c set redeemed_at = $3, redeemed_by = $4 from ${this.rewards} r
			 where c.code = $1 and r.id = c.reward_id and r.partner_id = $2 and c.redeemed_at is null
			 returning c.reward_id, c.redeemed_at`,
			[code, partnerId, now, by],
		);
		if (redeemed.rows[0]) return { kind: "redeemed", rewardId: redeemed.rows[0].reward_id, redeemedAt: redeemed.rows[0].redeemed_at };
		const found = await db.query<{ reward_id: string; redeemed_at: Date | null }>(
			`select c.reward_id, c.redeemed_at from ${this.claims} c join ${this.rewards} r on r.id = c.reward_id where c.code = $1 and r.partner_id = $2`,
			[code, partnerId],
		);
		const row = found.rows[0];
		// Another partner's code is answered as one that does not exist.
		if (!row || !row.redeemed_at) return { kind: "unknown" };
		return { kind: "already", rewardId: row.reward_id, redeemedAt: row.redeemed_at };
	}

	async claimCount(rewardId: string): Promise<number> {
		const found = await this.db.query<{ n: number }>(`select count(*)::int as n from ${this.claims} where reward_id = $1`, [rewardId]);
		return found.rows[0].n;
	}

	private async codeOf(db: SqlExecutor, rewardId: string, playerId: string): Promise<string | undefined> {
		const found = await db.query<{ code: string }>(`select code from ${this.claims} where reward_id = $1 and player_id = $2`, [rewardId, playerId]);
		return found.rows[0]?.code;
	}
}

function rewardOf(row: RewardRow): Reward {
	return {
		id: row.id,
		huntId: row.hunt_id,
		partnerId: row.partner_id,
		title: row.title,
		description: row.description,
		rule: row.rule,
		stock: row.stock,
		remaining: row.remaining,
		createdAt: row.created_at,
	};
}
