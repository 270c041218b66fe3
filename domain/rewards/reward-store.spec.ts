/**
 * The stock of a reward under concurrent claims, on PGlite and PostgreSQL: never oversold, never two
 * codes for one player, every code unique; redemption once, and only by the reward's partner.
 */
import { randomUUID } from "node:crypto";
import { onEverySqlEngine, useMigratedSchema } from "../../test/support/sql";
import { readRedemptionCode } from "./redemption-code";
import { REWARDS_MIGRATIONS, RewardStore } from "./reward-store";

onEverySqlEngine((engine, open) => {
	describe(`reward store on ${engine}`, () => {
		const db = useMigratedSchema(open, "rewards", REWARDS_MIGRATIONS);
		let store: RewardStore;
		beforeAll(() => {
			store = new RewardStore(db.client, db.schema);
		});
		const reward = (stock: number, partnerId = randomUUID()) =>
			store.create({ huntId: randomUUID(), partnerId, title: "Coffee", description: "One coffee", rule: { kind: "all_finishers" }, stock }, new Date());

		it("gives exactly 10 codes to 200 players claiming a stock of 10 at once", async () => {
			const { id } = await reward(10);
			const players = Array.from({ length: 200 }, () => randomUUID());
			const results = await Promise.all(players.map(player => store.claim(id, player, new Date())));
			const codes = results.flatMap(result => (result.kind === "claimed" ? [result.code] : []));
			expect(codes).toHaveLength(10);
			expect(new Set(codes).size).toBe(10);
			for (const code of codes) expect(readRedemptionCode(code)).toBe(code);
			expect(results.filter(result => result.kind === "exhausted")).toHaveLength(190);
			expect(await store.claimCount(id)).toBe(10);
			expect((await store.get(id))!.remaining).toBe(0);
		}, 60_000);

		it("never gives one player two codes, however many times they claim at once", async () => {
			const { id } = await reward(10);
			const player = randomUUID();
			const results = await Promise.all(Array.from({ length: 30 }, () => store.claim(id, player, new Date())));
			const claimed = results.filter(result => result.kind === "claimed");
			expect(claimed).toHaveLength(1);
			const code = (claimed[0] as { code: string }).code;
			expect(results.every(result => result.kind === "claimed" || (result.kind === "already" && result.code === code))).toBe(true);
			expect(await store.claimCount(id)).toBe(1);
			expect((await store.get(id))!.remaining).toBe(9);
		}, 60_000);

		it("tells a player who holds a code so, even once the stock ran out, and claims again after a top-up", async () => {
			const { id } = await reward(1);
			const [first, second] = [randomUUID(), randomUUID()];
			const won = await store.claim(id, first, new Date());
			expect(won.kind).toBe("claimed");
			expect(await store.claim(id, second, new Date())).toEqual({ kind: "exhausted" });
			expect(await store.claim(id, first, new Date())).toEqual({ kind: "already", code: (won as { code: string }).code });
			expect(await store.topUp(id, 2)).toMatchObject({ stock: 3, remaining: 2 });
			expect((await store.claim(id, second, new Date())).kind).toBe("claimed");
		});

		it("redeems a code once, only for the reward's partner", async () => {
			const partnerId = randomUUID();
			const { id } = await reward(5, partnerId);
			const claimed = await store.claim(id, randomUUID(), new Date());
			const code = (claimed as { code: string }).code;
			expect(await store.redeem(code, randomUUID(), randomUUID(), new Date())).toEqual({ kind: "unknown" });
			const redeemed = await store.redeem(code, partnerId, randomUUID(), new Date());
			expect(redeemed).toMatchObject({ kind: "redeemed", rewardId: id });
			const again = await Promise.all([store.redeem(code, partnerId, randomUUID(), new Date()), store.redeem(code, partnerId, randomUUID(), new Date())]);
			expect(again.map(result => result.kind)).toEqual(["already", "already"]);
			expect(await store.redeem("0000-0000-0000-0000-0000-0", partnerId, randomUUID(), new Date())).toEqual({ kind: "unknown" });
		});
	});
});
