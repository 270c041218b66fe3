/**
 * What finding hunts must answer whichever engine ranks the text: PostgreSQL's full-text search
 * (PGlite, PostgreSQL) or OpenSearch. Every query goes through HuntFlows.search, the way the
 * service asks. The fixture and every expected answer are written out by hand; the distances come
 * from an independent scan, never from the engine under test. hunt-search.spec.ts runs it.
 */
import { randomUUID } from "node:crypto";
import type { HuntFlows, HuntSearch } from "./hunt-flows";
import type { HuntDetails, HuntStore } from "./hunt-store";

export interface HuntSearchContractSetup {
	flows: HuntFlows;
	store: HuntStore;
	/** After the fixture is in the table: whatever the engine needs for it to be found (an index rebuilt). */
	indexed(): Promise<void>;
	dispose(): Promise<void>;
}

/** The point players search from, and places at known bearings and distances from it. */
const HERE = { lat: 48.8566, lon: 2.3522 };
const METRES_PER_DEGREE_LAT = 111_195;
const north = (m: number) => ({ lat: HERE.lat + m / METRES_PER_DEGREE_LAT, lon: HERE.lon });
const east = (m: number) => ({ lat: HERE.lat, lon: HERE.lon + m / (METRES_PER_DEGREE_LAT * Math.cos((HERE.lat * Math.PI) / 180)) });
const south = (m: number) => north(-m);

type Name = "castle" | "river" | "ruins" | "market" | "tower" | "far" | "reef" | "private" | "draft" | "suspended";

/** [title, description, tags, place, published minutes after the first, visibility/status] */
const FIXTURE: Record<Name, [string, string, string[], { lat: number; lon: number }, number, ("private" | "draft" | "suspended")?]> = {
	castle: ["The castle mystery", "Knights and towers", ["history"], north(100), 1],
	river: ["River walk", "Along the river, past the castle gardens", ["nature", "walk"], east(600), 2],
	ruins: ["Old ruins", "Stones in a field", ["castle"], south(1200), 3],
	market: ["Market day", "Cheese and bread", ["food", "walk"], south(1500), 4],
	tower: ["Tower climb", "Stairs to the top", ["history", "walk"], east(2500), 5],
	far: ["Hill fort", "Beyond the hills", ["history"], north(30_000), 6],
	reef: ["Antimeridian reef", "Coral and fish", ["sea"], { lat: -16.5, lon: 179.999 }, 10],
	private: ["Secret castle", "For invited players", ["history"], north(50), 7, "private"],
	draft: ["Castle draft", "Not published yet", ["history"], north(60), 8, "draft"],
	suspended: ["Castle of a suspended partner", "Hidden while suspended", ["history", "walk"], north(70), 9, "suspended"],
};

/** Redis GEO's earth (the geo index's), for the independent distances. */
function haversineM(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
	const rad = Math.PI / 180;
	const h = Math.sin(((b.lat - a.lat) * rad) / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(((b.lon - a.lon) * rad) / 2) ** 2;
	return 2 * 6_372_797.560856 * Math.asin(Math.sqrt(h));
}

export function huntSearchContract(engine: string, open: () => Promise<HuntSearchContractSetup>): void {
	describe(`finding hunts, text ranked by ${engine}`, () => {
		let setup: HuntSearchContractSetup;
		const ids = {} as Record<Name, string>;
		const nameOf = (id: string) => (Object.keys(ids) as Name[]).find(name => ids[name] === id) ?? id;
		/** The geo index, as an independent scan over the listed fixture hunts. */
		const listedPlaces = new Map<string, { lat: number; lon: number }>();
		const nearby = async (point: { lat: number; lon: number; radiusM: number; limit?: number }) =>
			[...listedPlaces]
				.map(([huntId, place]) => ({ huntId, distanceM: Math.round(haversineM(point, place) * 10) / 10 }))
				.filter(hit => hit.distanceM <= point.radiusM)
				.sort((a, b) => a.distanceM - b.distanceM)
				.slice(0, point.limit ?? Infinity);

		beforeAll(async () => {
			setup = await open();
			const partner = { id: randomUUID(), name: "Search Co" };
			const suspendedPartner = { id: randomUUID(), name: "Suspended Co" };
			const first = Date.parse("2026-03-01T10:00:00.000Z");
			for (const [name, [title, description, tags, place, minute, kind]] of Object.entries(FIXTURE) as Array<[Name, (typeof FIXTURE)[Name]]>) {
				const details: HuntDetails = {
					title,
					description,
					tags,
					area: { ...place, radiusM: 500 },
					startsAt: "2026-01-01T00:00:00.000Z",
					endsAt: "2099-01-01T00:00:00.000Z",
					visibility: kind === "private" ? "private" : "public",
					capacity: null,
					difficulty: null,
					timeLimitMinutes: null,
					zoneRadiusM: 150,
				};
				const hunt = await setup.store.create(kind === "suspended" ? suspendedPartner : partner, details, partner.id);
				ids[name] = hunt.id;
				if (kind !== "draft") await setup.store.setStatus(hunt.id, "published", { publishedAt: new Date(first + minute * 60_000) });
				if (!kind) listedPlaces.set(hunt.id, place);
			}
			await setup.store.setPartnerSuspended(suspendedPartner.id, true, suspendedPartner.name);
			await setup.indexed();
		});
		afterAll(() => setup?.dispose());

		const search = (query: Omit<HuntSearch, "limit"> & { limit?: number }) => setup.flows.search({ limit: 20, ...query }, nearby);
		const names = async (query: Omit<HuntSearch, "limit"> & { limit?: number }) => (await search(query)).items.map(item => nameOf(item.id));

		it("ranks a title match over a description match over a tag match, listed hunts only", async () => {
			expect(await names({ q: "castle" })).toEqual(["castle", "river", "ruins"]);
		});

		it("wants every word, excludes -words, matches phrases and alternatives", async () => {
			expect(await names({ q: "castle mystery" })).toEqual(["castle"]);
			expect(await names({ q: "castle -river" })).toEqual(["castle", "ruins"]);
			expect(await names({ q: '"cheese and bread"' })).toEqual(["market"]);
			expect(await names({ q: '"bread and cheese"' })).toEqual([]);
			expect(new Set(await names({ q: "cheese or stairs" }))).toEqual(new Set(["market", "tower"]));
			expect(await names({ q: "CASTLE MYSTERY" })).toEqual(["castle"]);
			expect(await names({ q: "nothing-like-this-anywhere" })).toEqual([]);
		});

		it("wants every tag; without text, the newest first", async () => {
			expect(await names({ tags: "walk,nature" })).toEqual(["river"]);
			expect(await names({ tags: "walk" })).toEqual(["tower", "market", "river"]);
			expect(await names({ tags: "History" })).toEqual(["far", "tower", "castle"]);
			expect(await names({ q: "castle", tags: "history" })).toEqual(["castle"]);
			expect(await names({ q: "hills", tags: "history" })).toEqual(["far"]);
			expect(await names({ tags: "no-such-tag" })).toEqual([]);
		});

		it("near a point: only within the radius, nearest first, each with its distance", async () => {
			const found = await search({ ...HERE, radius: 2000, q: "castle" });
			expect(found.items.map(item => nameOf(item.id))).toEqual(["castle", "river", "ruins"]);
			for (const item of found.items) {
				const expected = haversineM(HERE, listedPlaces.get(item.id)!);
				// OpenSearch's earth is 0.03 % smaller than Redis's: well within a metre at these distances.
				expect(Math.abs(item.distanceM! - expected)).toBeLessThan(1);
			}
			expect(await names({ ...HERE, radius: 1000, q: "walk" })).toEqual(["river"]);
			expect(await names({ ...HERE, radius: 3000, tags: "walk" })).toEqual(["river", "market", "tower"]);
			expect(await names({ ...HERE, radius: 50_000, tags: "history" })).toEqual(["castle", "tower", "far"]);
			expect(await names({ ...HERE, radius: 50, q: "castle" })).toEqual([]);
			// Across the antimeridian: 215 m west of a hunt that is 0.001° east of it.
			const acrossTheLine = await search({ lat: -16.5, lon: -179.999, radius: 5000, q: "reef" });
			expect(acrossTheLine.items.map(item => nameOf(item.id))).toEqual(["reef"]);
			expect(acrossTheLine.items[0].distanceM).toBeGreaterThan(200);
			expect(acrossTheLine.items[0].distanceM).toBeLessThan(230);
		});

		it("pages with the cursor it returns, every hit once", async () => {
			const first = await search({ q: "castle", limit: 2 });
			expect(first.items).toHaveLength(2);
			expect(first.next).toEqual(expect.any(String));
			const second = await search({ q: "castle", limit: 2, cursor: first.next });
			expect(second.next).toBeUndefined();
			expect([...first.items, ...second.items].map(item => nameOf(item.id))).toEqual(await names({ q: "castle" }));
			const nearFirst = await search({ ...HERE, radius: 3000, tags: "walk", limit: 2 });
			const nearSecond = await search({ ...HERE, radius: 3000, tags: "walk", limit: 2, cursor: nearFirst.next });
			expect([...nearFirst.items, ...nearSecond.items].map(item => nameOf(item.id))).toEqual(["river", "market", "tower"]);
			expect(nearSecond.next).toBeUndefined();
		});

		it("shows only public views: no clue, no secret", async () => {
			const [item] = (await search({ q: "mystery" })).items;
			expect(item).toMatchObject({ id: ids.castle, title: "The castle mystery", partner: { name: "Search Co" }, status: "published" });
			expect(Object.keys(item).sort()).toEqual(
				["area", "capacity", "clueCount", "description", "difficulty", "endsAt", "id", "partner", "startZones", "startsAt", "status", "tags", "timeLimitMinutes", "title", "visibility"].sort(),
			);
		});

		it("takes any text without breaking: operators, quotes, symbols", async () => {
			for (const q of ["'; drop table hunts; --", "&&|!():*", '"unclosed', "-", "castle*", "castle~2", "(castle", "title:castle", "ÉCOLE", "🏰", "or", "castle or", "\\", "a".repeat(200)]) {
				const found = await search({ q });
				expect(Array.isArray(found.items)).toBe(true);
				for (const item of found.items) expect(listedPlaces.has(item.id)).toBe(true);
			}
			// Operators are switched off, not interpreted: a prefix or field query finds nothing extra.
			expect(await names({ q: "cast*" })).toEqual([]);
			expect(await names({ q: "title:castle" })).toEqual([]);
		});

		it("never shows a hunt hidden after it was found, even where the index still holds it", async () => {
			await setup.store.setStatus(ids.ruins, "archived");
			try {
				expect(await names({ q: "castle -river" })).toEqual(["castle"]);
			} finally {
				await setup.store.setStatus(ids.ruins, "published");
			}
		});
	});
}
