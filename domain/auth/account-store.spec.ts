/**
 * The account store on both engines: the unique email key under concurrency, refresh-token rotation
 * that cannot fork under concurrent use, and reuse detection.
 */
import { randomUUID } from "node:crypto";
import { onEverySqlEngine, openTestPGlite, useMigratedSchema, type TestDatabase } from "../../test/support/sql";
import { USER_DELETED_CHANNEL } from "../../contracts/auth";
import { runMigrations } from "../../platform/sql";
import { AccountStore, AUTH_MIGRATIONS, EmailTakenError } from "./account-store";
import { newRefreshToken } from "../../platform/identity/tokens";

function accountStoreContract(engine: string, open: () => Promise<TestDatabase>) {
	describe(`AccountStore on ${engine}`, () => {
		const db = useMigratedSchema(open, "auth", AUTH_MIGRATIONS);
		let store: AccountStore;
		const schema = db.schema;

		beforeAll(() => {
			store = new AccountStore(db.client, schema);
		});

		const newAccount = (emailKey: string) => store.createAccount({ email: emailKey, emailKey, passwordHash: "$argon2id$stub", displayName: "Test" });

		it("lets one of many concurrent inserts of one email key through", async () => {
			const results = await Promise.allSettled(Array.from({ length: 20 }, () => newAccount("same@example.com")));
			expect(results.filter(r => r.status === "fulfilled")).toHaveLength(1);
			expect(results.filter(r => r.status === "rejected").every(r => (r as PromiseRejectedResult).reason instanceof EmailTakenError)).toBe(true);
		});

		it("rotates a refresh token once, and treats a second use as reuse that revokes the family", async () => {
			const account = await newAccount(`rotate-${schema}@example.com`);
			const first = newRefreshToken();
			const session = await store.createSession(account.id, first.hash, 3600, "203.0.113.1");
			const second = newRefreshToken();
			expect(await store.rotateRefreshToken(first.hash, second.hash, 3600, 0)).toMatchObject({ kind: "rotated", session: { id: session.id } });
			// Past the grace window (0 s here), a second use is reuse.
			expect(await store.rotateRefreshToken(first.hash, newRefreshToken().hash, 3600, 0)).toEqual({ kind: "reused", sessionId: session.id, accountId: account.id });
			// The family is gone: the newest token no longer works either.
			expect(await store.rotateRefreshToken(second.hash, newRefreshToken().hash, 3600)).toEqual({ kind: "invalid" });
			expect(await store.rotateRefreshToken(newRefreshToken().hash, newRefreshToken().hash, 3600)).toEqual({ kind: "invalid" });
		});

		it("never rotates one token twice under concurrent use", async () => {
			const account = await newAccount(`race-${schema}@example.com`);
			const token = newRefreshToken();
			await store.createSession(account.id, token.hash, 3600, undefined);
			const outcomes = await Promise.all(Array.from({ length: 8 }, () => store.rotateRefreshToken(token.hash, newRefreshToken().hash, 3600, 0)));
			expect(outcomes.filter(o => o.kind === "rotated")).toHaveLength(1);
			expect(outcomes.filter(o => o.kind === "rotated").length + outcomes.filter(o => o.kind === "reused" || o.kind === "invalid").length).toBe(8);
		});

		it("gives a second use within the grace window one sibling token, and revokes the session at the third", async () => {
			const account = await newAccount(`tabs-${schema}@example.com`);
			const token = newRefreshToken();
			const session = await store.createSession(account.id, token.hash, 3600, undefined);
			const [tabA, tabB] = [newRefreshToken(), newRefreshToken()];
			expect(await store.rotateRefreshToken(token.hash, tabA.hash, 3600, 30)).toMatchObject({ kind: "rotated", session: { id: session.id } });
			expect(await store.rotateRefreshToken(token.hash, tabB.hash, 3600, 30)).toMatchObject({ kind: "rotated", session: { id: session.id } });
			// Both tabs' tokens work on.
			expect(await store.rotateRefreshToken(tabA.hash, newRefreshToken().hash, 3600, 30)).toMatchObject({ kind: "rotated" });
			expect(await store.rotateRefreshToken(tabB.hash, newRefreshToken().hash, 3600, 30)).toMatchObject({ kind: "rotated" });
			// A third use of the original is theft, grace or not.
			expect(await store.rotateRefreshToken(token.hash, newRefreshToken().hash, 3600, 30)).toEqual({ kind: "reused", sessionId: session.id, accountId: account.id });
		});

		it("under a burst of concurrent uses within the grace window, rotates once, grants one sibling and revokes on the rest", async () => {
			const account = await newAccount(`burst-${schema}@example.com`);
			const token = newRefreshToken();
			await store.createSession(account.id, token.hash, 3600, undefined);
			const outcomes = await Promise.all(Array.from({ length: 6 }, () => store.rotateRefreshToken(token.hash, newRefreshToken().hash, 3600, 30)));
			expect(outcomes.filter(o => o.kind === "rotated")).toHaveLength(2);
			expect(outcomes.filter(o => o.kind === "reused").length + outcomes.filter(o => o.kind === "invalid").length).toBe(4);
		});

		it("refuses expired sessions", async () => {
			const account = await newAccount(`expired-${schema}@example.com`);
			const token = newRefreshToken();
			await store.createSession(account.id, token.hash, 0, undefined);
			expect(await store.rotateRefreshToken(token.hash, newRefreshToken().hash, 3600)).toEqual({ kind: "invalid" });
		});

		it("erases the person when closing an account, revokes its sessions, and frees the email", async () => {
			const email = `close-${schema}@example.com`;
			const account = await newAccount(email);
			const token = newRefreshToken();
			const session = await store.createSession(account.id, token.hash, 3600, undefined);
			expect(await store.closeAccount(account.id)).toEqual([session.id]);
			const closed = await store.findById(account.id);
			expect(closed).toMatchObject({ status: "closed", email: "", displayName: "", passwordHash: null, roles: [] });
			expect(await store.findByEmailKey(email)).toBeUndefined();
			expect(await store.rotateRefreshToken(token.hash, newRefreshToken().hash, 3600)).toEqual({ kind: "invalid" });
			expect((await newAccount(email)).id).not.toBe(account.id);
		});

		it("keeps the newest display name whatever order renames arrive in (redelivered or replayed messages)", async () => {
			const account = await newAccount(`rename-${schema}@example.com`);
			await store.updateDisplayName(account.id, "Second", "2026-05-02T10:00:00.000Z");
			await store.updateDisplayName(account.id, "First", "2026-05-01T10:00:00.000Z");
			expect((await store.findById(account.id))?.displayName).toBe("Second");
			await store.updateDisplayName(account.id, "Third", "2026-05-03T10:00:00.000Z");
			await store.updateDisplayName(account.id, "Second", "2026-05-02T10:00:00.000Z");
			expect((await store.findById(account.id))?.displayName).toBe("Third");
		});

		it("grants and revokes roles idempotently", async () => {
			const account = await newAccount(`roles-${schema}@example.com`);
			expect(await store.setRole(account.id, "admin", true)).toEqual(["player", "admin"]);
			expect(await store.setRole(account.id, "admin", true)).toEqual(["player", "admin"]);
			expect(await store.setRole(account.id, "admin", false)).toEqual(["player"]);
		});
	});
}

onEverySqlEngine(accountStoreContract);

describe("upgrading a database whose closures an older build had not announced", () => {
	const db = useMigratedSchema(
		openTestPGlite,
		"auth_upgrade",
		AUTH_MIGRATIONS.filter(m => m.version < 5),
	);

	it("hands them to the outbox once, with the closing time, and leaves announced ones alone", async () => {
		const pendingId = randomUUID();
		const announcedId = randomUUID();
		for (const [id, announced] of [
			[pendingId, null],
			[announcedId, "now()"],
		] as const) {
			await db.client.query(
				`insert into "${db.schema}".accounts (id, email, email_key, display_name, status, closed_at, closure_announced_at)
				 values ($1::uuid, '', 'closed:' || $1::text, '', 'closed', '2026-11-30T10:11:12.345Z', ${announced ?? "null"})`,
				[id],
			);
		}
		expect(await runMigrations(db.client, db.schema, AUTH_MIGRATIONS)).toEqual([5]);
		const { rows } = await db.client.query<{ channel: string; payload: string; partition_key: string }>(`select channel, payload, partition_key from "${db.schema}".outbox`);
		expect(rows.map(row => ({ ...row, payload: JSON.parse(row.payload) }))).toEqual([
			{ channel: USER_DELETED_CHANNEL, payload: { userId: pendingId, at: "2026-11-30T10:11:12.345Z" }, partition_key: pendingId },
		]);
	});
});
