/**
 * The hunts' text search on both SQL engines (PGlite, and PostgreSQL in CI): full-text over title,
 * description and tags with the websearch syntax, tags all required, only listed hunts, best match
 * first, restricted to a geo search's hits when given.
 */
import { randomUUID } from "node:crypto";
import { describeWithBackend } from "../../test/support/backends";
import { openTestPGlite, openTestPostgres, uniqueSchema } from "../../test/support/sql";
import { runMigrations, type SqlClient } from "../../platform/sql";
import { HuntStore, HUNTS_MIGRATIONS, type HuntDetails } from "./hunt-store";

function searchContract(engine: string, open: () => Promise<{ client: SqlClient; dispose(): Promise<void> }>) {
	describe(`hunt text search on ${engine}`, () => {
		let db: { client: SqlClient; dispose(): Promise<void> };
		let store: HuntStore;
		const partner = { id: randomUUID(), name: "Search Co" };
		const ids: Record<string, string> = {};
		const details = (title: string, description: string, tags: string[], visibility: "public" | "private" = "public"): HuntDetails => ({
			title,
			description,
			tags,
			area: { lat: 48.85, lon: 2.35, radiusM: 1000 },
			startsAt: "2026-01-01T00:00:00.000Z",
			endsAt: "2099-01-01T00:00:00.000Z",
			visibility,
			capacity: null,
			difficulty: null,
			timeLimitMinutes: null,
			zoneRadiusM: 150,
		});

		beforeAll(async () => {
			db = await open();
			const schema = uniqueSchema("huntsearch");
			await runMigrations(db.client, schema, HUNTS_MIGRATIONS);
			store = new HuntStore(db.client, schema);
			const add = async (name: string, d: HuntDetails, status: "draft" | "published" = "published") => {
				const hunt = await store.create(partner, d, partner.id);
				if (status === "published") await store.setStatus(hunt.id, "published", { publishedAt: new Date() });
				ids[name] = hunt.id;
			};
			await add("castle", details("The castle mystery", "Knights and towers", ["history"]));
			await add("river", details("River walk", "Along the river, past the castle gardens", ["nature", "walk"]));
			await add("market", details("Market day", "Cheese and bread", ["food", "walk"]));
			await add("private", details("Secret castle", "Private", ["history"], "private"));
			await add("draft", details("Castle draft", "Not yet", ["history"]), "draft");
		});
		afterAll(() => db.dispose());

		const search = async (filter: Parameters<HuntStore["searchListed"]>[0]) => (await store.searchListed(filter, 0, 10)).map(hunt => Object.entries(ids).find(([, id]) => id === hunt.id)?.[0]);

		it("matches words in title, description and tags, best match first, listed hunts only", async () => {
			expect(await search({ q: "castle", tags: [] })).toEqual(["castle", "river"]);
			expect(await search({ q: "walk", tags: [] })).toEqual(expect.arrayContaining(["river", "market"]));
			expect(await search({ q: "castle -river", tags: [] })).toEqual(["castle"]);
			expect(await search({ q: '"cheese and bread"', tags: [] })).toEqual(["market"]);
			expect(await search({ q: "nothing-like-this", tags: [] })).toEqual([]);
		});

		it("wants every tag, and keeps to a geo search's hits", async () => {
			expect(await search({ tags: ["walk", "nature"] })).toEqual(["river"]);
			expect(await search({ tags: ["history"] })).toEqual(["castle"]);
			expect(await search({ q: "walk", tags: [], ids: [ids.market, ids.castle] })).toEqual(["market"]);
			expect(await search({ tags: [], ids: [] })).toEqual([]);
		});

		it("takes any text without breaking: operators, quotes, symbols", async () => {
			for (const q of ["'; drop table hunts; --", "&&|!():*", '"unclosed', "-", "ÉCOLE", "🏰"]) await expect(store.searchListed({ q, tags: [] }, 0, 10)).resolves.toBeInstanceOf(Array);
		});
	});
}

searchContract("PGlite", () => openTestPGlite());

describeWithBackend("postgres", "PostgreSQL", pg => {
	searchContract("PostgreSQL", async () => {
		const client = openTestPostgres(pg.url);
		return { client, dispose: () => client.close() };
	});
});
