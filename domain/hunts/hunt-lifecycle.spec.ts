import { allowedTransitions, assertEditable, nextStatus, type HuntStatus, type HuntTransition } from "./hunt-lifecycle";

it.each([
	["draft", "publish", "published"],
	["draft", "archive", "archived"],
	["published", "archive", "archived"],
	["published", "unpublish", "draft"],
] as const)("%s --%s--> %s", (from, transition, to) => {
	expect(nextStatus(from, transition)).toBe(to);
});

it.each([
	["draft", "unpublish"],
	["published", "publish"],
	["archived", "publish"],
	["archived", "archive"],
	["archived", "unpublish"],
] as Array<[HuntStatus, HuntTransition]>)("refuses %s --%s with 409 HUNT_STATE and what is allowed", (from, transition) => {
	expect(() => nextStatus(from, transition)).toThrow(expect.objectContaining({ type: "HUNT_STATE", code: 409, data: expect.objectContaining({ status: from, allowed: allowedTransitions(from) }) }));
});

it("lets only drafts change", () => {
	expect(() => assertEditable("draft")).not.toThrow();
	expect(() => assertEditable("published")).toThrow(expect.objectContaining({ type: "HUNT_FROZEN", code: 409 }));
	expect(() => assertEditable("archived")).toThrow(expect.objectContaining({ type: "HUNT_FROZEN" }));
	expect(allowedTransitions("archived")).toEqual([]);
});
