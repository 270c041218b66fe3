import { describeWithBackend } from "../../test/support/backends";
import { openTestPGlite, openTestPostgres, uniqueSchema } from "../../test/support/sql";
import { splitStatements } from "./migrations";
import { sqlClientContract } from "./sql.contract";
import type { SqlClient } from "./types";

/** Comments become whitespace; compare statements with runs of whitespace squashed. */
const squashed = (statements: string[]) => statements.map(statement => statement.replace(/\s+/g, " "));

describe("splitStatements", () => {
	it("splits on semicolons, trims, and drops empty statements", () => {
		expect(splitStatements("select 1;\n  select 2 ;;\n\nselect 3")).toEqual(["select 1", "select 2", "select 3"]);
		expect(splitStatements("  ;\n ; ")).toEqual([]);
	});

	it("keeps semicolons inside single-quoted strings, with doubled quotes", () => {
		expect(splitStatements("insert into t values ('a; b', 'it''s; fine'); select 2")).toEqual(["insert into t values ('a; b', 'it''s; fine')", "select 2"]);
	});

	it("keeps semicolons inside E'' strings with backslash-escaped quotes", () => {
		expect(splitStatements("insert into t values (E'it\\'s; fine'); select 2")).toEqual(["insert into t values (E'it\\'s; fine')", "select 2"]);
	});

	it("keeps semicolons inside double-quoted identifiers", () => {
		expect(splitStatements('create table "odd;name" ("a;""b" int); select 1')).toEqual(['create table "odd;name" ("a;""b" int)', "select 1"]);
	});

	it("keeps dollar-quoted bodies whole, with or without a tag (tags may contain digits)", () => {
		const plain = "create function f() returns int language sql as $$ select 1; $$";
		const tagged = "create function g() returns void language plpgsql as $body1$ begin perform 1; raise notice '$$;'; end; $body1$";
		const nested = "do $outer$ begin execute $inner$ select 1; $inner$; end $outer$";
		expect(splitStatements(`${plain}; ${tagged};\n${nested}; select 4`)).toEqual([plain, tagged, nested, "select 4"]);
	});

	it("does not mistake a $ inside an identifier or a positional parameter for a dollar quote", () => {
		expect(splitStatements("create table a$b$ (x int); select 2")).toEqual(["create table a$b$ (x int)", "select 2"]);
		expect(splitStatements("prepare p as select $1::int; execute p(1)")).toEqual(["prepare p as select $1::int", "execute p(1)"]);
	});

	it("drops line and block comments (nested too), semicolons in them included, without gluing tokens", () => {
		const script = `-- header; with a semicolon
			select a-- trailing; comment
			from t; /* block; comment */ select /* outer /* inner; */ still; comment */ 2;
			-- only a comment at the end;`;
		expect(squashed(splitStatements(script))).toEqual(["select a from t", "select 2"]);
		expect(splitStatements("-- nothing but a comment;\n/* and another; */")).toEqual([]);
	});

	it("leaves comment-like text inside strings alone", () => {
		expect(splitStatements("select '-- not a comment; really', '/* nor; this */'")).toEqual(["select '-- not a comment; really', '/* nor; this */'"]);
	});
});

describe("PGlite", () => {
	let opened: Awaited<ReturnType<typeof openTestPGlite>> | undefined;
	let client: SqlClient;

	beforeAll(async () => {
		opened = await openTestPGlite();
		client = opened.client;
	});
	afterAll(async () => {
		await opened?.dispose();
	});

	sqlClientContract("pglite", {
		setup: () => ({ client }),
		newSchemaName: () => uniqueSchema("sqltest"),
		separateClients: false,
	});
});

describeWithBackend("postgres", "PostgreSQL", status => {
	let client: SqlClient | undefined;

	afterAll(async () => {
		await client?.close();
	});

	sqlClientContract("postgres", {
		setup: () => {
			client = openTestPostgres(status.url);
			return { client, openSeparateClient: () => openTestPostgres(status.url) };
		},
		newSchemaName: () => uniqueSchema("sqltest"),
		separateClients: true,
	});

	it("keeps serving after a transaction's connection is killed mid-way", async () => {
		const pool = openTestPostgres(status.url);
		try {
			const err = await pool
				.transaction(tx => tx.query("select pg_terminate_backend(pg_backend_pid())"))
				.then(
					() => undefined,
					(failure: unknown) => failure,
				);
			expect(err).toBeInstanceOf(Error);
			// More calls than the pool has connections: a dead one handed out again would fail one.
			await Promise.all(Array.from({ length: 12 }, () => pool.transaction(tx => tx.query("select 1"))));
		} finally {
			await pool.close();
		}
	});
});
