/**
 * The SQL audit log on both engines it meets in production: embedded PGlite and PostgreSQL (when
 * reachable). Tampering is done the way someone with the database owner's rights would do it:
 * switching the append-only trigger off and changing rows with plain SQL.
 */
import { randomUUID } from "node:crypto";
import type { AuditFact } from "../../contracts/audit";
import { runMigrations, type SqlClient } from "../../platform/sql";
import { describeWithBackend } from "../../test/support/backends";
import { dropSchemas, openTestPGlite, openTestPostgres, uniqueSchema } from "../../test/support/sql";
import { AUDIT_MIGRATIONS, AuditLog, InvalidAuditFactError, normaliseFact } from "./audit-log";
import { contentOf, entryHash, GENESIS_HASH } from "./chain";

const fact = (n: number, extra: Partial<AuditFact> = {}): AuditFact => ({
	id: randomUUID(),
	at: new Date(Date.UTC(2024, 4, 1, 10, 0, n)).toISOString(),
	actor: { type: "user", id: `user-${n % 3}`, ip: "203.0.113.7" },
	action: n % 2 ? "auth.login.succeeded" : "partners.verified",
	subject: { type: "user", id: `subject-${n}` },
	data: { n },
	...extra,
});

interface Setup {
	client: SqlClient;
	/** A second client on the same database where the engine has real concurrent connections. */
	otherClient?: SqlClient;
	dispose(): Promise<void>;
}

function auditLogContract(engine: string, open: () => Promise<Setup>) {
	describe(`AuditLog on ${engine}`, () => {
		let setup: Setup;
		const schemas: string[] = [];

		beforeAll(async () => {
			setup = await open();
		});
		afterAll(async () => {
			await dropSchemas(setup.client, schemas);
			await setup.dispose();
		});

		async function freshLog(client = setup.client): Promise<{ log: AuditLog; schema: string }> {
			const schema = uniqueSchema("audit");
			schemas.push(schema);
			await runMigrations(client, schema, AUDIT_MIGRATIONS);
			return { log: new AuditLog(client, schema), schema };
		}

		/** What the owner of the database can do despite the trigger. */
		async function behindItsBack(schema: string, sql: string, params: unknown[] = []): Promise<void> {
			await setup.client.exec(`alter table "${schema}".entries disable trigger user`);
			try {
				await setup.client.query(sql, params);
			} finally {
				await setup.client.exec(`alter table "${schema}".entries enable trigger user`);
			}
		}

		it("appends facts in order, each linked to the previous one", async () => {
			const { log } = await freshLog();
			const facts = [fact(1), fact(2), fact(3)];
			const results = [];
			for (const f of facts) results.push(await log.append(f));
			expect(results.map(r => [r.entry.seq, r.entry.id, r.duplicate])).toEqual(facts.map((f, i) => [i + 1, f.id, false]));
			expect(results[0].entry.prevHash).toBe(GENESIS_HASH);
			expect(results[1].entry.prevHash).toBe(results[0].entry.hash);
			expect(results[2].entry.prevHash).toBe(results[1].entry.hash);
			expect(await log.headOf()).toEqual({ seq: 3, hash: results[2].entry.hash });
			expect(await log.verify()).toEqual({ ok: true, checked: 3, head: { seq: 3, hash: results[2].entry.hash } });
		});

		it("gives back exactly what it hashed: the stored rows verify", async () => {
			const { log } = await freshLog();
			const tricky = fact(1, {
				id: randomUUID().toUpperCase(),
				at: "2024-05-01T12:00:00.123+02:00",
				data: { z: [3, 1.5, -0, 1e21, 'ünïcødé ✓ "quoted"'], a: { nested: { deep: true, nil: null } }, big: 12345678901234567890 },
				requestId: "req-1",
			});
			const appended = (await log.append(tricky)).entry;
			expect(appended.id).toBe(tricky.id.toLowerCase());
			expect(appended.at).toBe("2024-05-01T10:00:00.123Z");
			await log.append(fact(2, { subject: undefined, data: undefined, actor: { type: "anonymous" } }));
			const [stored] = await log.tail(0, 1);
			expect(stored).toEqual(appended);
			expect(await log.verify()).toMatchObject({ ok: true, checked: 2 });
		});

		it("records a redelivered fact once", async () => {
			const { log } = await freshLog();
			const f = fact(1);
			const first = await log.append(f);
			await log.append(fact(2));
			const again = await log.append({ ...f, data: { n: "a second delivery" } });
			expect(again).toEqual({ entry: first.entry, duplicate: true });
			expect((await log.tail(0, 10)).map(e => e.id)).toHaveLength(2);
		});

		it("refuses payloads that are not facts and writes nothing", async () => {
			const { log } = await freshLog();
			const invalid: unknown[] = [
				null,
				"text",
				{ ...fact(1), id: "not-a-uuid" },
				{ ...fact(1), at: "yesterday" },
				{ ...fact(1), action: "NoDomain" },
				{ ...fact(1), actor: { type: "robot" } },
				{ ...fact(1), subject: { type: "user" } },
				{ ...fact(1), data: [1, 2] },
				{ ...fact(1), data: { text: "nul \u0000 inside" } },
			];
			for (const payload of invalid) await expect(log.append(payload)).rejects.toBeInstanceOf(InvalidAuditFactError);
			expect(await log.headOf()).toBeNull();
			expect(await log.verify()).toEqual({ ok: true, checked: 0, head: null });
		});

		it("never forks the chain under concurrent appends, from several connections", async () => {
			const { log, schema } = await freshLog();
			const logs = [log, ...(setup.otherClient ? [new AuditLog(setup.otherClient, schema)] : [])];
			const facts = Array.from({ length: 50 }, (_, i) => fact(i));
			const duplicateOf = facts[7];
			const results = await Promise.all([...facts, duplicateOf, duplicateOf].map((f, i) => logs[i % logs.length].append(f)));
			expect(results.filter(r => r.duplicate)).toHaveLength(2);
			const entries = await log.tail(0, 100);
			expect(entries.map(e => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
			expect(new Set(entries.map(e => e.id))).toEqual(new Set(facts.map(f => f.id)));
			expect(await log.verify(7)).toMatchObject({ ok: true, checked: 50, head: { seq: 50 } });
		});

		it("refuses UPDATE, DELETE and TRUNCATE of entries", async () => {
			const { log, schema } = await freshLog();
			await log.append(fact(1));
			await expect(setup.client.query(`update "${schema}".entries set action = 'auth.logout'`)).rejects.toThrow(/append-only/);
			await expect(setup.client.query(`delete from "${schema}".entries`)).rejects.toThrow(/append-only/);
			await expect(setup.client.query(`truncate "${schema}".entries`)).rejects.toThrow(/append-only/);
			expect(await log.verify()).toMatchObject({ ok: true, checked: 1 });
		});

		it("finds a row altered behind its back, reading in batches", async () => {
			const { log, schema } = await freshLog();
			for (let n = 1; n <= 10; n++) await log.append(fact(n));
			await behindItsBack(schema, `update "${schema}".entries set data = '{"n": 700}'::jsonb where seq = 7`);
			expect(await log.verify(3)).toEqual({ ok: false, checked: 7, firstBroken: { seq: 7, reason: "hash_mismatch" }, lastGood: 6 });
		});

		it("finds an altered row whose hash was recomputed, at the next entry", async () => {
			const { log, schema } = await freshLog();
			for (let n = 1; n <= 5; n++) await log.append(fact(n));
			await behindItsBack(schema, `update "${schema}".entries set hash = $1 where seq = 3`, ["b".repeat(64)]);
			expect(await log.verify()).toMatchObject({ ok: false, firstBroken: { seq: 3, reason: "hash_mismatch" } });
			// Making the altered row self-consistent moves the break to the link after it.
			const [third] = await log.tail(2, 1);
			const forged = { ...third, action: "auth.logout" };
			await behindItsBack(schema, `update "${schema}".entries set action = $1, hash = $2 where seq = 3`, [forged.action, entryHash(forged.prevHash, contentOf(forged))]);
			expect(await log.verify()).toEqual({ ok: false, checked: 4, firstBroken: { seq: 4, reason: "prev_mismatch" }, lastGood: 3 });
		});

		it("finds deleted rows, in the middle and at the end, as gaps", async () => {
			const { log, schema } = await freshLog();
			for (let n = 1; n <= 6; n++) await log.append(fact(n));
			await behindItsBack(schema, `delete from "${schema}".entries where seq = 6`);
			expect(await log.verify()).toMatchObject({ ok: false, firstBroken: { seq: 6, reason: "gap" }, lastGood: 5 });
			await behindItsBack(schema, `delete from "${schema}".entries where seq = 2`);
			expect(await log.verify()).toMatchObject({ ok: false, firstBroken: { seq: 2, reason: "gap" }, lastGood: 1 });
		});

		it("follows the newest entries with tail", async () => {
			const { log } = await freshLog();
			for (let n = 1; n <= 5; n++) await log.append(fact(n));
			expect((await log.tail(2, 2)).map(e => e.seq)).toEqual([3, 4]);
			expect((await log.tail(5, 10)).map(e => e.seq)).toEqual([]);
		});
	});
}

describe("normaliseFact", () => {
	it("lists every problem it finds", () => {
		try {
			normaliseFact({ id: "x", at: "never", actor: {}, action: "bad" });
			throw new Error("expected a failure");
		} catch (err) {
			expect(err).toBeInstanceOf(InvalidAuditFactError);
			expect((err as InvalidAuditFactError).problems).toHaveLength(4);
		}
	});
});

auditLogContract("PGlite", async () => {
	const opened = await openTestPGlite();
	return { client: opened.client, dispose: opened.dispose };
});

describeWithBackend("postgres", "PostgreSQL", pg => {
	auditLogContract("PostgreSQL", async () => {
		const client = openTestPostgres(pg.url);
		const otherClient = openTestPostgres(pg.url);
		return {
			client,
			otherClient,
			dispose: async () => {
				await otherClient.close();
				await client.close();
			},
		};
	});
});
