/**
 * The partner rules without a broker: PGlite for the store and the outbox, a stub for the one
 * question asked of another service (does the user exist).
 */
import { randomUUID } from "node:crypto";
import { AUDIT_CHANNEL, type AuditFact } from "../../contracts/audit";
import type { Caller, PlatformRole } from "../../contracts/identity";
import type { PartnerView } from "../../contracts/partners";
import { rejectionOf } from "../../test/support/async";
import { openTestPGlite, useMigratedSchema } from "../../test/support/sql";
import { Outbox } from "../../platform/outbox/outbox";
import { managementDecision, PartnerFlows, partnerVisibleTo } from "./partner-flows";
import { PartnerStore, PARTNERS_MIGRATIONS } from "./partner-store";

const db = useMigratedSchema(openTestPGlite, "partners", PARTNERS_MIGRATIONS);
const user = (userId: string, roles: PlatformRole[] = ["player"]): Caller => ({ kind: "user", userId, roles, partners: {}, sessionId: randomUUID() });
const admin: Caller = { kind: "operator", operator: "test" };
const origin = { actor: { type: "user" as const, id: "someone" }, requestId: "req-1" };

let flows: PartnerFlows;
const knownUsers = new Set<string>();
beforeAll(() => {
	flows = new PartnerFlows(new PartnerStore(db.client, db.schema), new Outbox(db.client, db.schema), { userExists: async id => knownUsers.has(id) });
});

async function facts(subjectId: string): Promise<AuditFact[]> {
	const { rows } = await db.client.query<{ payload: string }>(`select payload from "${db.schema}".outbox where channel = $1 order by seq`, [AUDIT_CHANNEL]);
	return rows.map(row => JSON.parse(row.payload) as AuditFact).filter(fact => fact.subject?.id === subjectId);
}

describe("who sees a partner", () => {
	const partner = { id: "p1", name: "Acme", status: "pending", website: null } as PartnerView;
	it("shows everything to members and admins, the public view of a verified partner to others, and nothing else", () => {
		expect(partnerVisibleTo(partner, user("u1"), "editor")).toBe(partner);
		expect(partnerVisibleTo(partner, admin, undefined)).toBe(partner);
		expect(partnerVisibleTo(partner, user("u2"), undefined)).toBeUndefined();
		expect(partnerVisibleTo(partner, { kind: "anonymous" }, undefined)).toBeUndefined();
		expect(partnerVisibleTo({ ...partner, status: "verified" }, { kind: "anonymous" }, undefined)).toEqual({ id: "p1", name: "Acme", status: "verified", website: null });
	});

	it("lets owners and admins manage it, tells editors no, and strangers nothing", () => {
		expect(managementDecision(user("u1"), "owner")).toBe("allowed");
		expect(managementDecision(user("u1", ["player", "admin"]), undefined)).toBe("allowed");
		expect(managementDecision(user("u1"), "editor")).toBe("forbidden");
		expect(managementDecision(user("u1"), undefined)).toBe("not-found");
	});
});

describe("partner flows", () => {
	const owner = randomUUID();
	const editor = randomUUID();
	let partnerId: string;

	it("creates a pending partner owned by its creator, with its audit fact in the same transaction", async () => {
		const partner = await flows.create({ name: "Acme Hunts" }, owner, origin);
		partnerId = partner.id;
		expect(partner).toMatchObject({ status: "pending", members: [expect.objectContaining({ userId: owner, role: "owner" })] });
		expect(await facts(partner.id)).toEqual([expect.objectContaining({ action: "partners.created", requestId: "req-1", data: { name: "Acme Hunts" } })]);
	});

	it("adds only real users, and says what changed", async () => {
		expect(await rejectionOf(flows.setMember(partnerId, editor, "editor", user(owner), origin))).toMatchObject({ type: "NOT_FOUND", message: "User not found" });
		knownUsers.add(editor);
		const added = await flows.setMember(partnerId, editor, "editor", user(owner), origin);
		expect(added.changed).toEqual({ userId: editor, role: "editor" });
		expect((await flows.setMember(partnerId, editor, "editor", user(owner), origin)).changed).toBeUndefined();
	});

	it("keeps editors and strangers from managing, without telling strangers the partner exists", async () => {
		expect(await rejectionOf(flows.update(partnerId, { name: "Mine now" }, user(editor)))).toMatchObject({ type: "FORBIDDEN" });
		expect(await rejectionOf(flows.update(partnerId, { name: "Mine now" }, user(randomUUID())))).toMatchObject({ type: "NOT_FOUND" });
		expect(await rejectionOf(flows.view(partnerId, user(randomUUID())))).toMatchObject({ type: "NOT_FOUND" });
		expect((await flows.view(partnerId, user(editor))).name).toBe("Acme Hunts");
	});

	it("never leaves a partner without an owner, and lets a member leave", async () => {
		expect(await rejectionOf(flows.removeMember(partnerId, owner, user(owner), origin))).toMatchObject({ type: "LAST_OWNER" });
		knownUsers.add(owner);
		expect(await rejectionOf(flows.setMember(partnerId, owner, "editor", user(owner), origin))).toMatchObject({ type: "LAST_OWNER" });
		expect((await flows.removeMember(partnerId, editor, user(editor), origin)).changed).toEqual({ userId: editor, role: null });
		expect((await facts(partnerId)).map(fact => fact.action)).toEqual(["partners.created", "partners.member.added", "partners.member.removed"]);
	});

	it("verifies and suspends with the reason on record, and drops a deleted account everywhere", async () => {
		expect((await flows.setStatus(partnerId, "suspended", "fraud reports", origin)).status).toBe("suspended");
		expect((await facts(partnerId)).at(-1)).toMatchObject({ action: "partners.suspended", data: { reason: "fraud reports" } });
		const outbox = new Outbox(db.client, db.schema);
		await outbox.transaction((messages, tx) => flows.accountDeleted(owner, messages, tx));
		expect((await facts(partnerId)).at(-1)).toMatchObject({ action: "partners.member.removed", actor: { type: "service", id: "partners" }, data: { userId: owner, reason: "account deleted" } });
	});
});
