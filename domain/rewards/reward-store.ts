/**
 * Rewards and their claims: the rewards service's own tables. Stock is one row per reward, taken
 * by one conditional update under that row's lock, in the transaction that records the claim: of
 * any number of concurrent claims, exactly `remaining` succeed, and a player's second claim meets
 * the unique (reward, player) row and rolls its stock back with it. Codes are unique by
 * construction (100 random bits) and by constraint.
 */
import { randomUUID } from "node:crypto";
import { SQLSTATE, type Migration, type SqlClient, type SqlError, type SqlExecutor } from "../../platform/sql";
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

export type ClaimResult = { kind: "claimed"; code: string } | { kind: "exhausted" } | { kind: "already"; code: string };
export type RedeemResult = { kind: "redeemed"; rewardId: string; redeemedAt: Date } | { kind: "unknown" } | { kind: "already"; rewardId: string; redeemedAt: Date };

export class RewardStore {
	private readonly rewards: string;
	private readonly claims: string;

	constructor(
		readonly db: SqlClient,
		schema: string,
	) {
		this.rewards = `"${schema}".rewards`;
		this.claims = `"${schema}".claims`;
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

	/** One of the stock for the player, with a new code, unless none remains or they have one already. */
	async claim(rewardId: string, playerId: string, now: Date): Promise<ClaimResult> {
		try {
			return await this.db.transaction(async tx => {
				const taken = await tx.query(`update ${this.rewards} set remaining = remaining - 1 where id = $1 and remaining > 0`, [rewardId]);
				if (taken.rowCount !== 1) {
					// A player holding one already is told so even once the stock ran out.
					const code = await this.codeOf(tx, rewardId, playerId);
					return code ? { kind: "already" as const, code } : { kind: "exhausted" as const };
				}
				const code = newRedemptionCode();
				await tx.query(`insert into ${this.claims} (reward_id, player_id, code, claimed_at) values ($1, $2, $3, $4)`, [rewardId, playerId, code, now]);
				return { kind: "claimed" as const, code };
			});
		} catch (err) {
			if ((err as SqlError).code !== SQLSTATE.uniqueViolation) throw err;
			// Their claim made meanwhile (or a code drawn twice in 2^100, retried by the player).
			const code = await this.codeOf(this.db, rewardId, playerId);
			if (!code) throw err;
			return { kind: "already", code };
		}
	}

	/** Marks the code redeemed, once; `partnerId` limits it to that partner's rewards. */
	async redeem(code: string, partnerId: string, by: string, now: Date): Promise<RedeemResult> {
		const redeemed = await this.db.query<{ reward_id: string; redeemed_at: Date }>(
			`update ${this.claims} c set redeemed_at = $3, redeemed_by = $4 from ${this.rewards} r
			 where c.code = $1 and r.id = c.reward_id and r.partner_id = $2 and c.redeemed_at is null
			 returning c.reward_id, c.redeemed_at`,
			[code, partnerId, now, by],
		);
		if (redeemed.rows[0]) return { kind: "redeemed", rewardId: redeemed.rows[0].reward_id, redeemedAt: redeemed.rows[0].redeemed_at };
		const found = await this.db.query<{ reward_id: string; redeemed_at: Date | null }>(
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
