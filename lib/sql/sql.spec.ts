import { describeWithBackend } from "../../test/support/backends";
import { dropSchemas, openTestPGlite, openTestPostgres, uniqueSchema } from "../../test/support/sql";
import { splitStatements } from "./migrations";
import { sqlClientContract } from "./sql.contract";
import type { SqlClient } from "./types";

describe("embedded PGlite", () => {
	let db: Awaited<ReturnType<typeof openTestPGlite>>;
	beforeAll(async () => {
		db = await openTestPGlite();
	});
	afterAll(async () => {
		await db.dispose();
	});
	sqlClientContract("pglite", () => ({ client: db.client }), () => uniqueSchema("sqlc"));
});

describeWithBackend("postgres", "PostgreSQL through pg", pg => {
	let client: SqlClient;
	const schemas: string[] = [];
	beforeAll(() => {
		client = openTestPostgres(pg.url);
	});
	afterAll(async () => {
		await dropSchemas(client, schemas);
		await client.close();
	});
	sqlClientContract(
		"postgres",
		() => ({
			client,
			// The contract closes the separate clients it opens.
			openSeparateClient: () => openTestPostgres(pg.url),
		}),
		() => {
			const schema = uniqueSchema("sqlc");
			schemas.push(schema);
			return schema;
		},
	);
});

describe("splitStatements", () => {
	it("splits on semicolons outside quotes, dollar-quoted bodies and comments", () => {
		const script = `
			create table a (note text default 'x;y'); -- trailing; comment
			/* block; comment */ create table "b;c" (id int);
			create function f() returns int as $body$ begin return 1; end; $body$ language plpgsql;
			insert into a values ('it''s; fine')
		`;
		expect(splitStatements(script)).toEqual([
			"create table a (note text default 'x;y')",
			'create table "b;c" (id int)',
			"create function f() returns int as $body$ begin return 1; end; $body$ language plpgsql",
			"insert into a values ('it''s; fine')",
		]);
	});
	it("returns nothing for a script of comments and blanks", () => {
		expect(splitStatements("-- nothing;\n /* here; */ ;; ")).toEqual([]);
	});
});
