/**
 * What a durable event of another domain means to whom: the notifications it makes, each for one
 * user, with words a person reads on a phone. Pure: who the members of a partner are is asked by
 * the caller. An event that concerns nobody's inbox makes none.
 */
import type { ProgressMessage } from "../../contracts/gameplay";
import type { HuntChangeMessage } from "../../contracts/hunts";
import type { NotificationKind } from "../../contracts/notifications";
import type { RewardClaimedMessage } from "../../contracts/rewards";

export interface NotificationDraft {
	userId: string;
	kind: NotificationKind;
	title: string;
	body: string;
	data: Record<string, unknown>;
}

export interface PartnerStatusChange {
	partnerId: string;
	name: string;
	status: "verified" | "suspended";
	reason: string | null;
}

const quoted = (text: string) => `“${text}”`;
const inHunt = (title: string | undefined) => (title ? ` in ${quoted(title)}` : "");

/** A player's own steps that they would want to hear of (the rest, a hint or an answer, they saw happen). */
export function fromProgress(step: ProgressMessage): NotificationDraft[] {
	const data = { huntId: step.huntId, participationId: step.participationId };
	const to = (kind: NotificationKind, title: string, body: string, extra: Record<string, unknown> = {}): NotificationDraft[] => [
		{ userId: step.playerId, kind, title, body, data: { ...data, ...extra } },
	];
	switch (step.kind) {
		case "discovered":
			return to("clue_discovered", "Clue found", `You found ${quoted(step.clueTitle ?? "a clue")}${inHunt(step.huntTitle)}.`, { clueId: step.clueId });
		case "completed":
			return to("hunt_completed", "Hunt completed", `You finished${inHunt(step.huntTitle)} with ${step.score} points.`, { score: step.score });
		case "suspended":
			return to("participation_suspended", "Play paused for a review", `Your play${inHunt(step.huntTitle)} is paused while a moderator reviews some of your location reports.`);
		case "reinstated":
			return to("participation_reinstated", "You can play again", `A moderator reviewed your play${inHunt(step.huntTitle)}: you can carry on.`);
		case "disqualified":
			return to("participation_disqualified", "Disqualified", `A moderator reviewed your play${inHunt(step.huntTitle)} and disqualified it; it no longer counts on the leaderboard.`);
		default:
			return [];
	}
}

/** The player who claimed a reward: their code is ready (the code itself stays with the rewards service). */
export function fromRewardClaimed(claim: RewardClaimedMessage): NotificationDraft[] {
	return [
		{
			userId: claim.playerId,
			kind: "reward_won",
			title: "Reward won",
			body: `${quoted(claim.title)} is yours: show your code to redeem it.`,
			data: { rewardId: claim.rewardId, huntId: claim.huntId },
		},
	];
}

/** Every member of a partner whose status an admin changed. */
export function fromPartnerStatus(change: PartnerStatusChange, memberIds: readonly string[]): NotificationDraft[] {
	const draft =
		change.status === "verified"
			? { kind: "partner_verified" as const, title: "Partner verified", body: `${quoted(change.name)} is verified: its hunts can be published.` }
			: {
					kind: "partner_suspended" as const,
					title: "Partner suspended",
					body: `${quoted(change.name)} is suspended${change.reason ? `: ${change.reason}` : ""}. Its hunts are hidden from players.`,
				};
	return memberIds.map(userId => ({ userId, ...draft, data: { partnerId: change.partnerId } }));
}

/** Every member of the hunt's partner, when an admin took their hunt down; other changes they made themselves. */
export function fromHuntChange(change: HuntChangeMessage, memberIds: readonly string[]): NotificationDraft[] {
	if (change.kind !== "unpublished") return [];
	return memberIds.map(userId => ({
		userId,
		kind: "hunt_unpublished" as const,
		title: "Hunt taken down",
		body: `A moderator took one of your hunts down: ${change.reason}`,
		data: { huntId: change.huntId, partnerId: change.partnerId },
	}));
}
