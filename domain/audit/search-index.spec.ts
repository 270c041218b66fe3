import { randomUUID } from "node:crypto";
import { runMigrations, type SqlClient } from "../../platform/sql";
import { describeWithBackend } from "../../test/support/backends";
import { dropSchemas, openTestPGlite, openTestPostgres, uniqueSchema } from "../../test/support/sql";
import { AUDIT_MIGRATIONS, AuditLog } from "./audit-log";
import { chainFacts } from "./chain";
import { auditIndexName, catchUpIndex, OpenSearchAuditIndex, SqlAuditSearchIndex, type AuditSearchIndex } from "./search-index";
import { auditSearchIndexContract, CONTRACT_FACTS } from "./search-index.contract";
import type { AuditEntry } from "../../contracts/audit";

async function sqlSetup(client: SqlClient, dispose: () => Promise<void>) {
	const schema = uniqueSchema("audit_search");
	await runMigrations(client, schema, AUDIT_MIGRATIONS);
	const log = new AuditLog(client, schema);
	return {
		index: new SqlAuditSearchIndex(log),
		async load(facts: readonly (typeof CONTRACT_FACTS)[number][]) {
			const entries: AuditEntry[] = [];
			for (const fact of facts) entries.push((await log.append(fact)).entry);
			return entries;
		},
		async dispose() {
			await dropSchemas(client, [schema]);
			await dispose();
		},
	};
}

describe("auditIndexName", () => {
	it("derives a valid OpenSearch index name from the namespace", () => {
		expect(auditIndexName("lootopia")).toBe("lootopia-audit");
		expect(auditIndexName("Staging EU/1")).toBe("staging-eu-1-audit");
		expect(auditIndexName("_x")).toBe("x-audit");
	});
});

auditSearchIndexContract("SQL on PGlite", async () => {
	const opened = await openTestPGlite();
	return sqlSetup(opened.client, opened.dispose);
});

describeWithBackend("postgres", "PostgreSQL", pg => {
	auditSearchIndexContract("SQL on PostgreSQL", async () => {
		const client = openTestPostgres(pg.url);
		return sqlSetup(client, () => client.close());
	});
});

describeWithBackend("opensearch", "OpenSearch", os => {
	const newIndex = () => new OpenSearchAuditIndex({ url: os.url, namespace: `test-${randomUUID().slice(0, 8)}`, refreshOnWrite: true });

	auditSearchIndexContract("OpenSearch", async () => {
		const index = newIndex();
		return {
			index,
			async load(facts) {
				const entries = chainFacts(facts, i => new Date(Date.UTC(2024, 5, 1, 12, 0, i)).toISOString());
				await index.index(entries);
				return entries;
			},
			async dispose() {
				await index.drop();
				await index.close();
			},
		};
	});

	describe("catching up from the SQL log", () => {
		let opened: Awaited<ReturnType<typeof openTestPGlite>>;
		let index: OpenSearchAuditIndex;
		beforeAll(async () => {
			opened = await openTestPGlite();
			index = newIndex();
		});
		afterAll(async () => {
			await index.drop();
			await index.close();
			await opened.dispose();
		});

		it("copies what the index missed and reports where it stopped", async () => {
			const schema = uniqueSchema("audit_catchup");
			await runMigrations(opened.client, schema, AUDIT_MIGRATIONS);
			const log = new AuditLog(opened.client, schema);
			const entries: AuditEntry[] = [];
			for (const fact of CONTRACT_FACTS) entries.push((await log.append(fact)).entry);
			await index.index(entries.slice(0, 4));
			expect(await index.highestSeq()).toBe(4);
			expect(await catchUpIndex(log, index as AuditSearchIndex, 4, 3)).toBe(12);
			await index.refresh();
			expect(await index.highestSeq()).toBe(12);
			expect((await index.search({ limit: 200 })).entries).toEqual([...entries].reverse());
		});
	});
});
