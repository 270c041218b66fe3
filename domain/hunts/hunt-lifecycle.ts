/**
 * A hunt's lifecycle, the one place that says which change is allowed from which status:
 *
 *   draft ──publish──▶ published ──archive──▶ archived
 *     ▲                    │
 *     └─────unpublish──────┘   (an admin's moderation, with a reason; the partner may fix and publish again)
 *   draft ──archive──▶ archived
 *
 * Whether a published hunt is running or over follows from its window, not from a status.
 * Only a draft's details, clues and paths may change.
 */
import { AppError } from "../../platform/errors/app-error";

export type HuntStatus = "draft" | "published" | "archived";
export type HuntTransition = "publish" | "archive" | "unpublish";

const TRANSITIONS: Record<HuntTransition, { from: readonly HuntStatus[]; to: HuntStatus }> = {
	publish: { from: ["draft"], to: "published" },
	archive: { from: ["draft", "published"], to: "archived" },
	unpublish: { from: ["published"], to: "draft" },
};

/** The status after `transition`, or 409 HUNT_STATE naming what is possible. */
export function nextStatus(current: HuntStatus, transition: HuntTransition): HuntStatus {
	const rule = TRANSITIONS[transition];
	if (!rule.from.includes(current)) {
		throw new AppError("HUNT_STATE", `A ${current} hunt cannot be ${transition === "publish" ? "published" : transition === "archive" ? "archived" : "unpublished"}`, {
			status: current,
			allowed: allowedTransitions(current),
		});
	}
	return rule.to;
}

export function allowedTransitions(current: HuntStatus): HuntTransition[] {
	return (Object.keys(TRANSITIONS) as HuntTransition[]).filter(name => TRANSITIONS[name].from.includes(current));
}

/** Details, clues and paths change only while a draft: 409 HUNT_FROZEN otherwise. */
export function assertEditable(current: HuntStatus): void {
	if (current !== "draft") throw new AppError("HUNT_FROZEN", current === "published" ? undefined : "An archived hunt cannot change", { status: current });
}
