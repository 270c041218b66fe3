/**
 * Profile changes and the account-deletion steps, on PGlite, with the other services' steps stubbed
 * and recorded.
 */
import { randomUUID } from "node:crypto";
import { USER_RENAMED_CHANNEL } from "../../contracts/users";
import { rejectionOf } from "../../test/support/async";
import { openTestPGlite, useMigratedSchema } from "../../test/support/sql";
import { Outbox } from "../../platform/outbox/outbox";
import { ProfileFlows } from "./profile-flows";
import { ProfileStore, USERS_MIGRATIONS } from "./profile-store";

const db = useMigratedSchema(openTestPGlite, "users", USERS_MIGRATIONS);
let flows: ProfileFlows;
let profiles: ProfileStore;
beforeAll(() => {
	profiles = new ProfileStore(db.client, db.schema);
	flows = new ProfileFlows(profiles, new Outbox(db.client, db.schema));
});

const outboxed = async (channel: string) =>
	(await db.client.query<{ payload: string }>(`select payload from "${db.schema}".outbox where channel = $1 order by seq`, [channel])).rows.map(row => JSON.parse(row.payload));

it("announces a new display name with the change, and nothing for other changes", async () => {
	const userId = randomUUID();
	await profiles.create(userId, "Before");
	expect((await flows.update(userId, { locale: "fr-FR" })).renamed).toBeUndefined();
	expect(await outboxed(USER_RENAMED_CHANNEL)).toEqual([]);
	const { profile, renamed } = await flows.update(userId, { displayName: "After" });
	expect(renamed).toEqual({ userId, displayName: "After", at: profile.updatedAt });
	expect(await outboxed(USER_RENAMED_CHANNEL)).toEqual([renamed]);
	expect(await rejectionOf(flows.update(randomUUID(), { displayName: "Nobody" }))).toMatchObject({ type: "NOT_FOUND" });
});

it("deletes an account in order: the sole owner is stopped first, a refused password keeps the profile", async () => {
	const userId = randomUUID();
	await profiles.create(userId, "Leaver");
	const steps: string[] = [];
	const ports = (ownedAlone: string[], closing: () => Promise<void>) => ({
		partnersOwnedAlone: async () => (steps.push("owned alone?"), ownedAlone),
		closeAccount: async () => (steps.push("close"), closing()),
	});
	expect(
		await rejectionOf(
			flows.deleteAccount(
				userId,
				"pw",
				ports(["p1"], async () => undefined),
			),
		),
	).toMatchObject({ type: "LAST_OWNER", data: { partnerIds: ["p1"] } });
	expect(steps).toEqual(["owned alone?"]);
	expect(
		await rejectionOf(
			flows.deleteAccount(
				userId,
				"wrong",
				ports([], () => Promise.reject(new Error("INVALID_CREDENTIALS"))),
			),
		),
	).toMatchObject({ message: "INVALID_CREDENTIALS" });
	expect(await profiles.get(userId)).toBeDefined();
	await flows.deleteAccount(
		userId,
		"pw",
		ports([], async () => undefined),
	);
	expect(await profiles.get(userId)).toBeUndefined();
	expect(steps).toEqual(["owned alone?", "owned alone?", "close", "owned alone?", "close"]);
});
