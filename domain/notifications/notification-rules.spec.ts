import { randomUUID } from "node:crypto";
import type { ProgressMessage } from "../../contracts/gameplay";
import { PROGRESS_KINDS } from "../../contracts/gameplay";
import { fromHuntChange, fromPartnerStatus, fromProgress, fromRewardClaimed } from "./notification-rules";

const step = (kind: ProgressMessage["kind"], extra: Partial<ProgressMessage> = {}): ProgressMessage => ({
	participationId: randomUUID(),
	huntId: randomUUID(),
	huntTitle: "Old town",
	playerId: randomUUID(),
	kind,
	at: "2026-12-02T10:00:00.000Z",
	startedAt: "2026-12-02T09:00:00.000Z",
	score: 42,
	...extra,
});

describe("what a participation's steps tell its player", () => {
	it("tells the player, and only the player, of a discovery, a finish and a review's outcome", () => {
		const told = PROGRESS_KINDS.map(kind => [kind, fromProgress(step(kind, { clueId: randomUUID(), clueTitle: "Fountain" })).map(draft => draft.kind)]);
		expect(Object.fromEntries(told)).toEqual({
			joined: [],
			discovered: ["clue_discovered"],
			hint_taken: [],
			answered: [],
			flagged: [],
			completed: ["hunt_completed"],
			closed: [],
			suspended: ["participation_suspended"],
			reinstated: ["participation_reinstated"],
			disqualified: ["participation_disqualified"],
		});
		const discovered = step("discovered", { clueId: randomUUID(), clueTitle: "Fountain" });
		const [draft] = fromProgress(discovered);
		expect(draft).toEqual({
			userId: discovered.playerId,
			kind: "clue_discovered",
			title: "Clue found",
			body: "You found “Fountain” in “Old town”.",
			data: { huntId: discovered.huntId, participationId: discovered.participationId, clueId: discovered.clueId },
		});
	});

	it("reads well without a hunt title (a sweep that closed it did not have one)", () => {
		const [draft] = fromProgress(step("completed", { huntTitle: undefined }));
		expect(draft.body).toBe("You finished with 42 points.");
	});
});

describe("what other domains' events tell whom", () => {
	it("tells the claimer of their reward without the code", () => {
		const claim = { rewardId: randomUUID(), huntId: randomUUID(), partnerId: randomUUID(), playerId: randomUUID(), title: "Coffee", at: "2026-12-02T10:00:00.000Z" };
		expect(fromRewardClaimed(claim)).toEqual([
			{ userId: claim.playerId, kind: "reward_won", title: "Reward won", body: "“Coffee” is yours: show your code to redeem it.", data: { rewardId: claim.rewardId, huntId: claim.huntId } },
		]);
	});

	it("tells every member of a partner of its verification or suspension, with the reason", () => {
		const members = [randomUUID(), randomUUID()];
		const partnerId = randomUUID();
		const verified = fromPartnerStatus({ partnerId, name: "Café Bleu", status: "verified", reason: null }, members);
		expect(verified.map(draft => [draft.userId, draft.kind])).toEqual(members.map(userId => [userId, "partner_verified"]));
		const [suspended] = fromPartnerStatus({ partnerId, name: "Café Bleu", status: "suspended", reason: "Unpaid invoices" }, members);
		expect(suspended).toMatchObject({ kind: "partner_suspended", data: { partnerId } });
		expect(suspended.body).toContain("Unpaid invoices");
		expect(fromPartnerStatus({ partnerId, name: "Café Bleu", status: "suspended", reason: null }, [])).toEqual([]);
	});

	it("tells a hunt's partner members when a moderator took it down, and of nothing they did themselves", () => {
		const members = [randomUUID()];
		const fields = { huntId: randomUUID(), partnerId: randomUUID(), at: "2026-12-02T10:00:00.000Z" };
		const [draft] = fromHuntChange({ ...fields, kind: "unpublished", reason: "Trespassing on private land" }, members);
		expect(draft).toMatchObject({ userId: members[0], kind: "hunt_unpublished", data: { huntId: fields.huntId } });
		expect(draft.body).toContain("Trespassing on private land");
		expect(fromHuntChange({ ...fields, kind: "archived" }, members)).toEqual([]);
		expect(fromHuntChange({ ...fields, kind: "hidden" }, members)).toEqual([]);
	});
});
