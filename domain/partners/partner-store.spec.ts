/** Membership rules that must hold under concurrency: a partner never loses its last owner. */
import { randomUUID } from "node:crypto";
import { onEverySqlEngine, useMigratedSchema, type TestDatabase } from "../../test/support/sql";
import { PartnerStore, PARTNERS_MIGRATIONS } from "./partner-store";

function partnerStoreContract(engine: string, open: () => Promise<TestDatabase>) {
	describe(`PartnerStore on ${engine}`, () => {
		const db = useMigratedSchema(open, "partners", PARTNERS_MIGRATIONS);
		let store: PartnerStore;

		beforeAll(() => {
			store = new PartnerStore(db.client, db.schema);
		});

		it("creates a pending partner owned by its creator", async () => {
			const owner = randomUUID();
			const partner = await store.create({ name: "Museum", website: "https://museum.example" }, owner);
			expect(partner).toMatchObject({ status: "pending", members: [{ userId: owner, role: "owner" }] });
			expect(await store.membershipsOf(owner)).toEqual({ [partner.id]: "owner" });
		});

		it("keeps one owner when two owners demote each other at the same moment", async () => {
			const [a, b] = [randomUUID(), randomUUID()];
			const partner = await store.create({ name: "Shared" }, a);
			expect(await store.setMember(partner.id, b, "owner")).toEqual({ kind: "ok", previousRole: null });
			const outcomes = await Promise.all([store.setMember(partner.id, a, "editor"), store.setMember(partner.id, b, "editor")]);
			expect(outcomes.map(o => o.kind).sort()).toEqual(["last-owner", "ok"]);
			const owners = (await store.get(partner.id))!.members.filter(m => m.role === "owner");
			expect(owners).toHaveLength(1);
		});

		it("reports a missing partner or member instead of inventing one", async () => {
			expect(await store.setMember(randomUUID(), randomUUID(), "editor")).toEqual({ kind: "no-partner" });
			const partner = await store.create({ name: "Solo" }, randomUUID());
			expect(await store.setMember(partner.id, randomUUID(), null)).toEqual({ kind: "no-member" });
		});

		it("removes a deleted user from every partner", async () => {
			const user = randomUUID();
			const first = await store.create({ name: "One" }, user);
			const second = await store.create({ name: "Two" }, randomUUID());
			await store.setMember(second.id, user, "editor");
			expect((await store.removeUserEverywhere(user)).sort()).toEqual([first.id, second.id].sort());
			expect(await store.membershipsOf(user)).toEqual({});
		});
	});
}

onEverySqlEngine(partnerStoreContract);
