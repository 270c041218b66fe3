/**
 * The stock of a reward under concurrent claims, on PGlite and PostgreSQL, through the claim flow
 * (check eligibility, reserve stock, issue code and notify): never oversold, never two codes for one
 * player, every code unique, one notification per code; stock given back when a claim fails after
 * reserving or dies between its steps; redemption once, and only by the reward's partner.
 */
import { randomUUID } from "node:crypto";
import { REWARD_CLAIMED_CHANNEL } from "../../contracts/rewards";
import { AppError } from "../../platform/errors/app-error";
import { Outbox } from "../../platform/outbox/outbox";
import { onEverySqlEngine, useMigratedSchema } from "../../test/support/sql";
import { standingAmong, type RankedParticipation } from "./eligibility";
import { readRedemptionCode } from "./redemption-code";
import { RESERVATION_LAPSE_MS, RewardFlows, type RewardPorts } from "./reward-flows";
import { REWARDS_MIGRATIONS, RewardStore } from "./reward-store";

const ORIGIN = { actor: { type: "user" as const, id: randomUUID() } };
const ADMIN_VIEWER = { userId: randomUUID(), admin: true };
const HUNT_ENDS = "2030-01-01T00:00:00.000Z";

onEverySqlEngine((engine, open) => {
	describe(`rewards on ${engine}`, () => {
		const db = useMigratedSchema(open, "rewards", REWARDS_MIGRATIONS);
		let store: RewardStore;
		let outbox: Outbox;
		const finishers = new Map<string, RankedParticipation[]>();
		let now = Date.parse("2029-06-01T10:00:00Z");
		const members = new Set<string>();
		const ports: RewardPorts = {
			playbook: async huntId => ({ id: huntId, partnerId: randomUUID(), status: "published", endsAt: HUNT_ENDS, partnerSuspended: false }),
			standing: async (huntId, playerId) => standingAmong(finishers.get(huntId) ?? [], playerId),
			isMember: async (userId, partnerId) => members.has(`${userId}:${partnerId}`),
			huntPartner: async () => undefined,
			now: () => now,
		};
		let flows: RewardFlows;
		beforeAll(() => {
			store = new RewardStore(db.client, db.schema);
			outbox = new Outbox(db.client, db.schema);
			flows = new RewardFlows(store, outbox, ports);
		});

		/** A reward for all finishers of a new hunt that `players` finished. */
		const reward = async (stock: number, players: string[], partnerId = randomUUID()) => {
			const huntId = randomUUID();
			finishers.set(
				huntId,
				players.map((playerId, index) => ({ participationId: randomUUID(), playerId, state: "completed", score: 10, completedAt: new Date(Date.parse("2029-06-01T09:00:00Z") + index).toISOString() })),
			);
			return flows.create(huntId, partnerId, { title: "Coffee", description: "One coffee", stock, rule: { kind: "all_finishers" } }, ORIGIN);
		};
		const outcome = (claim: Promise<{ code: string }>) =>
			claim.then(
				({ code }) => ({ code }),
				(err: unknown) => {
					if (err instanceof AppError) return { error: err.type };
					throw err;
				},
			);
		const claimedMessages = async (rewardId: string) => {
			const { rows } = await db.client.query<{ payload: string }>(`select payload from "${db.schema}".outbox where channel = $1`, [REWARD_CLAIMED_CHANNEL]);
			return rows.map(row => JSON.parse(row.payload) as { rewardId: string; playerId: string }).filter(message => message.rewardId === rewardId);
		};

		it("gives exactly 10 codes to 200 eligible players claiming a stock of 10 at once, with one notification each", async () => {
			const players = Array.from({ length: 200 }, () => randomUUID());
			const { id } = await reward(10, players);
			const results = await Promise.all(players.map(player => outcome(flows.claim(id, player, ORIGIN))));
			const codes = results.flatMap(result => ("code" in result ? [result.code] : []));
			expect(codes).toHaveLength(10);
			expect(new Set(codes).size).toBe(10);
			for (const code of codes) expect(readRedemptionCode(code)).toBe(code);
			expect(results.filter(result => "error" in result && result.error === "REWARD_EXHAUSTED")).toHaveLength(190);
			const after = await flows.inspect(id, 100);
			expect(after).toMatchObject({ claimed: 10, reserved: 0, reward: { stock: 10, remaining: 0 } });
			const winners = players.filter((_, index) => "code" in results[index]);
			expect((await claimedMessages(id)).map(message => message.playerId).sort()).toEqual(winners.sort());
		}, 120_000);

		it("never gives one player two codes, however many times they claim at once", async () => {
			// Several players, each claiming many times at once: a claim racing another one of the same
			// player that is issuing its code meets that code, never a second one (nor an error).
			const players = Array.from({ length: 6 }, () => randomUUID());
			const { id } = await reward(10, players);
			const results = await Promise.all(players.flatMap(player => Array.from({ length: 25 }, () => outcome(flows.claim(id, player, ORIGIN)).then(result => ({ player, result })))));
			for (const player of players) {
				const mine = results.filter(entry => entry.player === player).map(entry => entry.result);
				expect(mine.filter(result => "code" in result)).toHaveLength(1);
				expect(mine.filter(result => !("code" in result)).every(result => "error" in result && result.error === "ALREADY_CLAIMED")).toBe(true);
			}
			expect(await flows.inspect(id, 10)).toMatchObject({ claimed: 6, reserved: 0, reward: { remaining: 4 } });
			expect(await claimedMessages(id)).toHaveLength(6);
		}, 60_000);

		it("answers a claim that waited for the same player's code being issued with that code", async () => {
			const player = randomUUID();
			const { id } = await reward(5, [player]);
			expect(await store.reserve(id, player, new Date(now))).toEqual({ kind: "reserved" });
			let second: Promise<unknown> | undefined;
			const code = await db.client.transaction(async tx => {
				const issued = await store.issue(tx, id, player, new Date(now));
				// The reservation row is deleted but not committed yet: the second claim's insert waits for it.
				second = store.reserve(id, player, new Date(now));
				await new Promise(resolve => setTimeout(resolve, 200));
				return issued;
			});
			expect(await second).toEqual({ kind: "already", code });
			expect(await flows.inspect(id, 10)).toMatchObject({ claimed: 1, reserved: 0, reward: { remaining: 4 } });
		});

		it("refuses a player who is not eligible, and takes nothing from the stock", async () => {
			const { id } = await reward(3, [randomUUID()]);
			await expect(flows.claim(id, randomUUID(), ORIGIN)).rejects.toMatchObject({ type: "NOT_ELIGIBLE", data: { because: "NOT_PLAYING" } });
			expect((await flows.get(id, ADMIN_VIEWER)).remaining).toBe(3);
		});

		it("tells a player who holds a code so (with it), even once the stock ran out, and serves again after a top-up", async () => {
			const [first, second] = [randomUUID(), randomUUID()];
			const { id } = await reward(1, [first, second]);
			const { code } = await flows.claim(id, first, ORIGIN);
			await expect(flows.claim(id, second, ORIGIN)).rejects.toMatchObject({ type: "REWARD_EXHAUSTED" });
			await expect(flows.claim(id, first, ORIGIN)).rejects.toMatchObject({ type: "ALREADY_CLAIMED", data: { code } });
			expect(await flows.topUp(id, 2, ORIGIN)).toMatchObject({ stock: 3, remaining: 2 });
			expect(readRedemptionCode((await flows.claim(id, second, ORIGIN)).code)).toBeDefined();
		});

		it("gives the stock back when issuing the code fails after the stock was reserved", async () => {
			const player = randomUUID();
			const { id } = await reward(2, [player]);
			const failing = new RewardFlows(
				Object.assign(Object.create(store) as RewardStore, {
					issue: async () => {
						throw new Error("database went away");
					},
				}),
				outbox,
				ports,
			);
			await expect(failing.claim(id, player, ORIGIN)).rejects.toThrow("database went away");
			expect(await flows.inspect(id, 10)).toMatchObject({ claimed: 0, reserved: 0, reward: { remaining: 2 } });
			expect(await claimedMessages(id)).toHaveLength(0);
			// Nothing of the failed claim stands in the player's way.
			expect(readRedemptionCode((await flows.claim(id, player, ORIGIN)).code)).toBeDefined();
		});

		it("gives back the stock of a claim that died between its steps once its reservation lapsed, and not before", async () => {
			const player = randomUUID();
			const { id } = await reward(1, [player]);
			expect(await store.reserve(id, player, new Date(now))).toEqual({ kind: "reserved" });
			await expect(flows.claim(id, randomUUID(), ORIGIN)).rejects.toMatchObject({ type: "NOT_ELIGIBLE" });
			expect(await flows.sweepLapsed()).toBe(0);
			expect((await flows.get(id, ADMIN_VIEWER)).remaining).toBe(0);
			now += RESERVATION_LAPSE_MS + 1;
			expect(await flows.sweepLapsed()).toBeGreaterThanOrEqual(1);
			expect(await flows.inspect(id, 10)).toMatchObject({ reserved: 0, reward: { remaining: 1 } });
			// The dead claim's issue step, had it woken up, finds its reservation gone: no code without stock.
			expect(await db.client.transaction(tx => store.issue(tx, id, player, new Date(now)))).toBeUndefined();
			expect(readRedemptionCode((await flows.claim(id, player, ORIGIN)).code)).toBeDefined();
		});

		it("redeems a code once, only for a member of the reward's partner, read as typed", async () => {
			const partnerId = randomUUID();
			const [member, stranger, player] = [randomUUID(), randomUUID(), randomUUID()];
			members.add(`${member}:${partnerId}`);
			const { id } = await reward(5, [player], partnerId);
			const { code } = await flows.claim(id, player, ORIGIN);
			await expect(flows.redeem(code, stranger, ORIGIN)).rejects.toMatchObject({ type: "CODE_UNKNOWN" });
			const typed = ` ${code.toLowerCase().replace(/-/g, " ").replace(/0/g, "o")} `;
			expect(await flows.redeem(typed, member, ORIGIN)).toMatchObject({ rewardId: id });
			const again = await Promise.all([outcome(flows.redeem(code, member, ORIGIN) as never), outcome(flows.redeem(code, member, ORIGIN) as never)]);
			expect(again).toEqual([{ error: "ALREADY_REDEEMED" }, { error: "ALREADY_REDEEMED" }]);
			await expect(flows.redeem("0000-0000-0000-0000-0000-0", member, ORIGIN)).rejects.toMatchObject({ type: "CODE_UNKNOWN" });
			await expect(flows.redeem("not a code at all", member, ORIGIN)).rejects.toMatchObject({ type: "CODE_UNKNOWN" });
		});
	});
});
