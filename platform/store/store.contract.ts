/**
 * The behaviour every KeyValueStore must show, as jest tests. store.spec.ts runs it against each
 * implementation, so memory and Redis are held to the same expectations; expected values here are
 * written out or computed independently (own haversine, byte comparison), never with code under test.
 */
import { isStoreError, KeyValueStore, ScoredMember, StoreErrorCode } from "./types";
import { rejectionOf } from "../../test/support/async";
import { seededRandom } from "../../test/support/seeded-random";

/**
 * Makes a store whose key prefix includes `scope`. Each test gets a new scope, so tests never see
 * each other's keys; two stores made with the same scope must share data.
 */
export type StoreFactory = (scope: string) => Promise<KeyValueStore> | KeyValueStore;

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

async function expectStoreError(promise: Promise<unknown>, code: StoreErrorCode): Promise<void> {
	const err = await rejectionOf(promise);
	if (!isStoreError(err, code)) throw new Error(`expected StoreError ${code}, got ${String(err)}`);
}

// --- Geo references: mean Earth radius (IUGG), deliberately not the radius the stores use, so
// the 0.5 % tolerance also covers a store's choice of radius (Redis: 6372797.56 m, +0.03 %).
const REFERENCE_EARTH_RADIUS_M = 6371008.8;
const RAD = Math.PI / 180;
const GEO_TOLERANCE = 0.005;

interface LatLon {
	lat: number;
	lon: number;
}

function referenceDistanceM(a: LatLon, b: LatLon): number {
	const dLat = (b.lat - a.lat) * RAD;
	const dLon = (b.lon - a.lon) * RAD;
	const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dLon / 2) ** 2;
	return 2 * REFERENCE_EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The point `distanceM` away from `from` along the initial bearing (degrees from north). */
function destination(from: LatLon, bearingDeg: number, distanceM: number): LatLon {
	const angular = distanceM / REFERENCE_EARTH_RADIUS_M;
	const bearing = bearingDeg * RAD;
	const lat1 = from.lat * RAD;
	const lat2 = Math.asin(Math.sin(lat1) * Math.cos(angular) + Math.cos(lat1) * Math.sin(angular) * Math.cos(bearing));
	const lon2 = from.lon * RAD + Math.atan2(Math.sin(bearing) * Math.sin(angular) * Math.cos(lat1), Math.cos(angular) - Math.sin(lat1) * Math.sin(lat2));
	return { lat: lat2 / RAD, lon: ((((lon2 / RAD + 540) % 360) + 360) % 360) - 180 };
}

/** Paris landmarks; from Notre-Dame: Panthéon ≈ 0.79 km, Louvre 1.24, Sacré-Cœur 3.78, Eiffel Tower 4.10, Arc de Triomphe 4.63, Versailles 17.6. */
const PARIS: Record<string, LatLon> = {
	notreDame: { lat: 48.852966, lon: 2.349902 },
	pantheon: { lat: 48.846222, lon: 2.346414 },
	louvre: { lat: 48.860611, lon: 2.337644 },
	sacreCoeur: { lat: 48.886705, lon: 2.343104 },
	eiffelTower: { lat: 48.85837, lon: 2.294481 },
	arcDeTriomphe: { lat: 48.873792, lon: 2.295028 },
	versailles: { lat: 48.804865, lon: 2.120355 },
};

/** Redis's member order: by score, then by the members' UTF-8 bytes. */
function referenceOrder(a: ScoredMember, b: ScoredMember): number {
	return a.score - b.score || Buffer.compare(Buffer.from(a.member, "utf8"), Buffer.from(b.member, "utf8"));
}

export function storeContract(name: string, makeStore: StoreFactory): void {
	describe(`KeyValueStore contract: ${name}`, () => {
		let testNumber = 0;
		let scope = "";
		let store: KeyValueStore;
		const openStores: KeyValueStore[] = [];

		async function openStore(inScope = scope): Promise<KeyValueStore> {
			const opened = await makeStore(inScope);
			openStores.push(opened);
			return opened;
		}

		beforeEach(async () => {
			scope = `t${++testNumber}:`;
			store = await openStore();
		});

		afterEach(async () => {
			await Promise.all(openStores.splice(0).map(opened => opened.close()));
		});

		describe("strings", () => {
			it("get answers null for a missing key and the last value set otherwise", async () => {
				expect(await store.get("greeting")).toBeNull();
				expect(await store.set("greeting", "bonjour")).toBe(true);
				expect(await store.get("greeting")).toBe("bonjour");
				expect(await store.set("greeting", "salut")).toBe(true);
				expect(await store.get("greeting")).toBe("salut");
				await store.set("empty", "");
				expect(await store.get("empty")).toBe("");
			});

			it("expires a key set with ttlMs, and ttl reports the milliseconds left", async () => {
				await store.set("session", "abc", { ttlMs: 300 });
				const left = await store.ttl("session");
				expect(left).toBeGreaterThan(0);
				expect(left).toBeLessThanOrEqual(300);
				expect(await store.get("session")).toBe("abc");
				await sleep(450);
				expect(await store.get("session")).toBeNull();
				expect(await store.ttl("session")).toBeNull();
				expect(await store.set("session", "new", { onlyIfAbsent: true })).toBe(true);
			});

			it("clears a previous expiry when set again without ttlMs", async () => {
				await store.set("token", "short", { ttlMs: 200 });
				await store.set("token", "kept");
				expect(await store.ttl("token")).toBeNull();
				await sleep(300);
				expect(await store.get("token")).toBe("kept");
			});

			it("answers ttl null for a missing key and for a key without expiry", async () => {
				expect(await store.ttl("nothing")).toBeNull();
				await store.set("forever", "1");
				expect(await store.ttl("forever")).toBeNull();
			});

			it("writes with onlyIfAbsent only when the key is absent", async () => {
				expect(await store.set("lock", "first", { onlyIfAbsent: true })).toBe(true);
				expect(await store.set("lock", "second", { onlyIfAbsent: true, ttlMs: 10_000 })).toBe(false);
				expect(await store.get("lock")).toBe("first");
				expect(await store.ttl("lock")).toBeNull();
			});

			it("lets exactly one of 50 concurrent onlyIfAbsent writers win, and keeps its value", async () => {
				const writers = Array.from({ length: 50 }, (_, i) => `request-${i}`);
				const results = await Promise.all(writers.map(value => store.set("idempotency", value, { onlyIfAbsent: true, ttlMs: 60_000 })));
				expect(results.filter(Boolean)).toHaveLength(1);
				expect(await store.get("idempotency")).toBe(writers[results.indexOf(true)]);
			});

			it("replace writes only over the expected value, with the expiry given or none", async () => {
				expect(await store.replace("state", "v1", "v2")).toBe(false);
				expect(await store.get("state")).toBeNull();
				await store.set("state", "v1", { ttlMs: 60_000 });
				expect(await store.replace("state", "v0", "v2")).toBe(false);
				expect(await store.get("state")).toBe("v1");
				expect(await store.replace("state", "v1", "v2", { ttlMs: 30_000 })).toBe(true);
				expect(await store.get("state")).toBe("v2");
				const left = await store.ttl("state");
				expect(left).toBeGreaterThan(29_000);
				expect(left).toBeLessThanOrEqual(30_000);
				expect(await store.replace("state", "v2", "v3")).toBe(true);
				expect(await store.ttl("state")).toBeNull();
				await store.zAdd("board", "alice", 1);
				await expect(store.replace("board", "x", "y")).rejects.toMatchObject({ code: "WRONG_KIND" });
			});

			it("lets exactly one of 50 concurrent replacers of one value win", async () => {
				await store.set("counter-state", "0");
				const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.replace("counter-state", "0", `writer-${i}`)));
				expect(results.filter(Boolean)).toHaveLength(1);
				expect(await store.get("counter-state")).toBe(`writer-${results.indexOf(true)}`);
			});

			it("del removes keys of every kind and counts the ones that existed", async () => {
				await store.set("string", "x");
				await store.zAdd("board", "alice", 1);
				await store.geoAdd("places", "louvre", PARIS.louvre);
				expect(await store.del("string", "board", "places", "missing")).toBe(3);
				expect(await store.get("string")).toBeNull();
				expect(await store.zCard("board")).toBe(0);
				expect(await store.geoPosition("places", "louvre")).toBeNull();
				expect(await store.del("string")).toBe(0);
				expect(await store.del()).toBe(0);
			});

			it("does not count an expired key as deleted", async () => {
				await store.set("gone", "x", { ttlMs: 50 });
				await sleep(120);
				expect(await store.del("gone")).toBe(0);
			});
		});

		describe("counters", () => {
			it("incr starts from 0, adds `by` (default 1) and may go negative", async () => {
				expect(await store.incr("count")).toBe(1);
				expect(await store.incr("count")).toBe(2);
				expect(await store.incr("count", { by: 10 })).toBe(12);
				expect(await store.incr("count", { by: -20 })).toBe(-8);
				expect(await store.get("count")).toBe("-8");
				expect(await store.incr("fresh", { by: -3 })).toBe(-3);
			});

			it("is atomic: 100 concurrent increments answer 1 to 100 once each", async () => {
				const values = await Promise.all(Array.from({ length: 100 }, () => store.incr("hits")));
				expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
				expect(await store.get("hits")).toBe("100");
			});

			it("sets ttlMs only when it creates the counter, so it counts in a fixed window", async () => {
				expect(await store.incr("login:alice", { ttlMs: 400 })).toBe(1);
				await sleep(150);
				expect(await store.incr("login:alice", { ttlMs: 400 })).toBe(2);
				// Not pushed back to 400: the window still ends about 400 ms after the first attempt.
				expect(await store.ttl("login:alice")).toBeLessThanOrEqual(260);
				await sleep(350);
				expect(await store.get("login:alice")).toBeNull();
				expect(await store.incr("login:alice", { ttlMs: 400 })).toBe(1);
				expect(await store.ttl("login:alice")).toBeGreaterThan(250);
			});

			it("gives concurrent first increments with ttlMs one counter with an expiry", async () => {
				const values = await Promise.all(Array.from({ length: 20 }, () => store.incr("burst", { ttlMs: 5_000 })));
				expect(Math.max(...values)).toBe(20);
				const left = await store.ttl("burst");
				expect(left).toBeGreaterThan(0);
				expect(left).toBeLessThanOrEqual(5_000);
			});

			it("does not add an expiry to an existing counter, and keeps one given by set", async () => {
				await store.set("permanent", "5");
				expect(await store.incr("permanent", { ttlMs: 1_000 })).toBe(6);
				expect(await store.ttl("permanent")).toBeNull();

				await store.set("temporary", "5", { ttlMs: 10_000 });
				expect(await store.incr("temporary")).toBe(6);
				expect(await store.ttl("temporary")).toBeGreaterThan(9_000);
			});

			it("increments decimal integer strings and rejects any other value with NOT_AN_INTEGER", async () => {
				await store.set("n", "41");
				expect(await store.incr("n")).toBe(42);
				for (const value of ["abc", "1.5", " 1", "+1", "01", "-0", "", "1e3"]) {
					await store.set("bad", value);
					await expectStoreError(store.incr("bad"), "NOT_AN_INTEGER");
					expect(await store.get("bad")).toBe(value);
				}
			});
		});

		describe("kinds and arguments", () => {
			it("rejects using a name as another kind with WRONG_KIND", async () => {
				await store.zAdd("board", "alice", 1);
				await expectStoreError(store.get("board"), "WRONG_KIND");
				await expectStoreError(store.incr("board"), "WRONG_KIND");
				await store.set("text", "hello");
				await expectStoreError(store.zAdd("text", "alice", 1), "WRONG_KIND");
				await expectStoreError(store.zIncrBy("text", "alice", 1), "WRONG_KIND");
				await expectStoreError(store.zScore("text", "alice"), "WRONG_KIND");
				await expectStoreError(store.zRangeByRank("text", 0, -1), "WRONG_KIND");
				await expectStoreError(store.zRank("text", "alice"), "WRONG_KIND");
				await expectStoreError(store.zCard("text"), "WRONG_KIND");
				await expectStoreError(store.geoAdd("text", "louvre", PARIS.louvre), "WRONG_KIND");
				await expectStoreError(store.geoSearch("text", { ...PARIS.louvre, radiusM: 100 }), "WRONG_KIND");
				await expectStoreError(store.geoPosition("text", "louvre"), "WRONG_KIND");
				expect(await store.get("text")).toBe("hello");
				expect(await store.zCard("board")).toBe(1);
			});

			it("lets set overwrite a name of any kind", async () => {
				await store.zAdd("board", "alice", 1);
				expect(await store.set("board", "now a string")).toBe(true);
				expect(await store.get("board")).toBe("now a string");
				await store.geoAdd("places", "louvre", PARIS.louvre);
				expect(await store.set("places", "x", { onlyIfAbsent: true })).toBe(false);
			});

			it("drops a sorted set or geo index with its last member, freeing the name", async () => {
				await store.zAdd("board", "alice", 1);
				expect(await store.zRem("board", "alice")).toBe(true);
				expect(await store.get("board")).toBeNull();
				await store.geoAdd("places", "louvre", PARIS.louvre);
				expect(await store.geoRemove("places", "louvre")).toBe(true);
				expect(await store.incr("places")).toBe(1);
			});

			it("rejects invalid arguments with RangeError and writes nothing", async () => {
				const invalid: Array<() => Promise<unknown>> = [
					() => store.set("k", "v", { ttlMs: 0 }),
					() => store.set("k", "v", { ttlMs: -5 }),
					() => store.set("k", "v", { ttlMs: 1.5 }),
					() => store.incr("k", { by: 1.5 }),
					() => store.incr("k", { ttlMs: 0 }),
					() => store.zAdd("k", "m", Number.NaN),
					() => store.zAdd("k", "m", Number.POSITIVE_INFINITY),
					() => store.zIncrBy("k", "m", Number.NaN),
					() => store.zRangeByRank("k", 0.5, 2),
					() => store.geoAdd("k", "m", { lat: 86, lon: 0 }),
					() => store.geoAdd("k", "m", { lat: 0, lon: 180.5 }),
					() => store.geoAdd("k", "m", { lat: Number.NaN, lon: 0 }),
					() => store.geoSearch("k", { lat: 0, lon: 0, radiusM: -1 }),
					() => store.geoSearch("k", { lat: 0, lon: 0, radiusM: 10, limit: 0 }),
					() => store.geoSearch("k", { lat: 0, lon: 0, radiusM: 10, limit: 2.5 }),
					() => store.geoSearch("k", { lat: -90, lon: 0, radiusM: 10 }),
				];
				for (const call of invalid) expect(await rejectionOf(call())).toBeInstanceOf(RangeError);
				expect(await store.get("k")).toBeNull();
			});

			it("shares data between stores of the same scope and isolates other scopes", async () => {
				const sameScope = await openStore();
				const otherScope = await openStore(`${scope}other:`);
				await store.set("shared", "yes");
				await store.zAdd("board", "alice", 3);
				expect(await sameScope.get("shared")).toBe("yes");
				expect(await sameScope.zScore("board", "alice")).toBe(3);
				expect(await otherScope.get("shared")).toBeNull();
				expect(await otherScope.zCard("board")).toBe(0);
				await otherScope.set("shared", "other");
				expect(await store.get("shared")).toBe("yes");
			});
		});

		describe("geo", () => {
			const around = (index: string) => Promise.all(Object.entries(PARIS).map(([member, at]) => store.geoAdd(index, member, at)));

			it("finds members nearest first, with distances within 0.5 % and their positions", async () => {
				await around("landmarks");
				const hits = await store.geoSearch("landmarks", { ...PARIS.notreDame, radiusM: 30_000 });
				expect(hits.map(hit => hit.member)).toEqual(["notreDame", "pantheon", "louvre", "sacreCoeur", "eiffelTower", "arcDeTriomphe", "versailles"]);
				expect(hits[0].distanceM).toBeLessThan(1);
				for (const hit of hits.slice(1)) {
					const expected = referenceDistanceM(PARIS.notreDame, PARIS[hit.member]);
					expect(Math.abs(hit.distanceM - expected) / expected).toBeLessThan(GEO_TOLERANCE);
					expect(hit.lat).toBeCloseTo(PARIS[hit.member].lat, 5);
					expect(hit.lon).toBeCloseTo(PARIS[hit.member].lon, 5);
				}
			});

			it("keeps only members within the radius, and the nearest `limit` of them", async () => {
				await around("landmarks");
				const within5km = await store.geoSearch("landmarks", { ...PARIS.notreDame, radiusM: 5_000 });
				expect(within5km.map(hit => hit.member)).toEqual(["notreDame", "pantheon", "louvre", "sacreCoeur", "eiffelTower", "arcDeTriomphe"]);
				const nearest2 = await store.geoSearch("landmarks", { ...PARIS.eiffelTower, radiusM: 30_000, limit: 2 });
				expect(nearest2.map(hit => hit.member)).toEqual(["eiffelTower", "arcDeTriomphe"]);
				expect(await store.geoSearch("landmarks", { lat: 43.6, lon: 1.44, radiusM: 50_000 })).toEqual([]);
			});

			it("draws the radius boundary at the member's distance", async () => {
				const centre = PARIS.notreDame;
				await store.geoAdd("ring", "north-1km", destination(centre, 0, 1_000));
				await store.geoAdd("ring", "east-2km", destination(centre, 90, 2_000));
				const search = async (radiusM: number) => (await store.geoSearch("ring", { ...centre, radiusM })).map(hit => hit.member);
				expect(await search(990)).toEqual([]);
				expect(await search(1_010)).toEqual(["north-1km"]);
				expect(await search(1_980)).toEqual(["north-1km"]);
				expect(await search(2_020)).toEqual(["north-1km", "east-2km"]);
			});

			it("moves a member added again, and reports whether it was new", async () => {
				expect(await store.geoAdd("hunts", "h1", PARIS.louvre)).toBe(true);
				expect(await store.geoAdd("hunts", "h1", PARIS.versailles)).toBe(false);
				const position = await store.geoPosition("hunts", "h1");
				expect(position?.lat).toBeCloseTo(PARIS.versailles.lat, 5);
				expect(position?.lon).toBeCloseTo(PARIS.versailles.lon, 5);
				expect(await store.geoSearch("hunts", { ...PARIS.louvre, radiusM: 1_000 })).toEqual([]);
				expect((await store.geoSearch("hunts", { ...PARIS.versailles, radiusM: 1_000 })).map(hit => hit.member)).toEqual(["h1"]);
			});

			it("removes members, and answers null / [] for missing members and indexes", async () => {
				await around("landmarks");
				expect(await store.geoRemove("landmarks", "louvre")).toBe(true);
				expect(await store.geoRemove("landmarks", "louvre")).toBe(false);
				expect(await store.geoPosition("landmarks", "louvre")).toBeNull();
				expect((await store.geoSearch("landmarks", { ...PARIS.louvre, radiusM: 500 })).map(hit => hit.member)).toEqual([]);
				expect(await store.geoPosition("no-index", "louvre")).toBeNull();
				expect(await store.geoRemove("no-index", "louvre")).toBe(false);
				expect(await store.geoSearch("no-index", { ...PARIS.louvre, radiusM: 500 })).toEqual([]);
			});

			it("agrees with a brute-force scan of 1,000 points, across the antimeridian and near the polar limit", async () => {
				const random = seededRandom(20261104);
				const clusters = [
					{ lat: 48.8566, lon: 2.3522, spreadDeg: 0.05, count: 400 },
					{ lat: 48.8566, lon: 2.3522, spreadDeg: 0.6, count: 250 },
					{ lat: -17.7, lon: 180, spreadDeg: 0.4, count: 200 },
					{ lat: 84.75, lon: 120, spreadDeg: 0.29, count: 150 },
				];
				const points = new Map<string, LatLon>();
				for (const [c, cluster] of clusters.entries()) {
					for (let i = 0; i < cluster.count; i++) {
						const lat = cluster.lat + (random() * 2 - 1) * cluster.spreadDeg;
						let lon = cluster.lon + (random() * 2 - 1) * cluster.spreadDeg * 2;
						if (lon > 180) lon -= 360;
						points.set(`c${c}-p${i}`, { lat, lon });
					}
				}
				await Promise.all([...points].map(([member, at]) => store.geoAdd("dense", member, at)));

				const queries = [
					{ lat: 48.8566, lon: 2.3522, radiusM: 150 },
					{ lat: 48.8566, lon: 2.3522, radiusM: 1_000 },
					{ lat: 48.87, lon: 2.33, radiusM: 3_000 },
					{ lat: 48.8566, lon: 2.3522, radiusM: 25_000 },
					{ lat: 48.8566, lon: 2.3522, radiusM: 400_000 },
					{ lat: -17.7, lon: 179.98, radiusM: 20_000 },
					{ lat: -17.6, lon: -179.9, radiusM: 30_000 },
					{ lat: 84.9, lon: 120, radiusM: 15_000 },
					{ lat: 85, lon: 121, radiusM: 40_000 },
					// Reaches over the North Pole to cut through the cluster on the far side.
					{ lat: 85, lon: -60, radiusM: 1_140_000 },
				];
				for (const query of queries) {
					const hits = await store.geoSearch("dense", query);
					const found = new Set(hits.map(hit => hit.member));
					// Points within the tolerance of the circle's edge may fall either way.
					const edge = query.radiusM * GEO_TOLERANCE + 1;
					const missing: string[] = [];
					const extra: string[] = [];
					for (const [member, at] of points) {
						const distance = referenceDistanceM(query, at);
						if (distance < query.radiusM - edge && !found.has(member)) missing.push(member);
						if (distance > query.radiusM + edge && found.has(member)) extra.push(member);
					}
					expect({ query, missing, extra }).toEqual({ query, missing: [], extra: [] });
					for (let i = 1; i < hits.length; i++) expect(hits[i].distanceM).toBeGreaterThanOrEqual(hits[i - 1].distanceM);
					for (const hit of hits) {
						const expected = referenceDistanceM(query, points.get(hit.member)!);
						expect(Math.abs(hit.distanceM - expected)).toBeLessThanOrEqual(expected * GEO_TOLERANCE + 1);
					}
					const limited = await store.geoSearch("dense", { ...query, limit: 5 });
					expect(limited.map(hit => hit.member)).toEqual(hits.slice(0, 5).map(hit => hit.member));
				}
			});
		});

		describe("sorted sets", () => {
			it("adds members, reports new ones, updates scores and counts", async () => {
				expect(await store.zAdd("board", "alice", 10)).toBe(true);
				expect(await store.zAdd("board", "bob", 5)).toBe(true);
				expect(await store.zAdd("board", "alice", 12.5)).toBe(false);
				expect(await store.zScore("board", "alice")).toBe(12.5);
				expect(await store.zScore("board", "carol")).toBeNull();
				expect(await store.zCard("board")).toBe(2);
			});

			it("orders by score, equal scores by member bytes, and reverses both when descending", async () => {
				const tied = ["b", "é", "a", "😀", "B", "aa", "\uFFFD", ""];
				await Promise.all(tied.map(member => store.zAdd("board", member, 1)));
				await store.zAdd("board", "zero", 0);
				await store.zAdd("board", "negative", -1.5);
				await store.zAdd("board", "top", 2);
				// UTF-8 byte order: "" < "B" (42) < "a" (61) < "aa" < "b" < "é" (C3 A9) < U+FFFD (EF BF BD) < 😀 (F0 9F 98 80).
				const ascending = ["negative", "zero", "", "B", "a", "aa", "b", "é", "\uFFFD", "😀", "top"];
				const range = await store.zRangeByRank("board", 0, -1);
				expect(range.map(entry => entry.member)).toEqual(ascending);
				expect(range.map(entry => entry.score)).toEqual([-1.5, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
				const descending = await store.zRangeByRank("board", 0, -1, { descending: true });
				expect(descending.map(entry => entry.member)).toEqual([...ascending].reverse());
			});

			it("ranks members the way ranges list them, both directions, null when absent", async () => {
				for (const [member, score] of [
					["dora", 3],
					["carl", 3],
					["anna", 7],
					["bert", 1],
					["emil", 3],
				] as const)
					await store.zAdd("board", member, score);
				for (const descending of [false, true]) {
					const range = await store.zRangeByRank("board", 0, -1, { descending });
					const ranks = await Promise.all(range.map(entry => store.zRank("board", entry.member, { descending })));
					expect(ranks).toEqual([0, 1, 2, 3, 4]);
				}
				expect(await store.zRank("board", "anna", { descending: true })).toBe(0);
				expect(await store.zRank("board", "emil", { descending: true })).toBe(1);
				expect(await store.zRank("board", "carl")).toBe(1);
				expect(await store.zRank("board", "nobody")).toBeNull();
				expect(await store.zRank("no-board", "anna", { descending: true })).toBeNull();
			});

			it("reads rank ranges like ZRANGE: inclusive, negative from the end, clamped", async () => {
				for (const [member, score] of [
					["a", 1],
					["b", 2],
					["c", 3],
					["d", 4],
				] as const)
					await store.zAdd("board", member, score);
				const members = async (start: number, stop: number, descending = false) => (await store.zRangeByRank("board", start, stop, { descending })).map(entry => entry.member);
				expect(await members(0, -1)).toEqual(["a", "b", "c", "d"]);
				expect(await members(1, 2)).toEqual(["b", "c"]);
				expect(await members(-2, -1)).toEqual(["c", "d"]);
				expect(await members(-100, 1)).toEqual(["a", "b"]);
				expect(await members(2, 100)).toEqual(["c", "d"]);
				expect(await members(4, 10)).toEqual([]);
				expect(await members(2, 1)).toEqual([]);
				expect(await members(-1, -2)).toEqual([]);
				expect(await members(0, 1, true)).toEqual(["d", "c"]);
				expect(await members(-1, -1, true)).toEqual(["a"]);
				expect(await store.zRangeByRank("no-board", 0, -1)).toEqual([]);
			});

			it("zIncrBy creates absent sets and members, and adds like doubles", async () => {
				expect(await store.zIncrBy("points", "alice", 0.1)).toBe(0.1);
				expect(await store.zIncrBy("points", "alice", 0.2)).toBe(0.1 + 0.2);
				expect(await store.zIncrBy("points", "bob", -4)).toBe(-4);
				expect(await store.zScore("points", "alice")).toBe(0.1 + 0.2);
				expect(await store.zCard("points")).toBe(2);
			});

			it("moves a member to its new rank when its score changes, and removes members", async () => {
				for (const [member, score] of [
					["a", 1],
					["b", 2],
					["c", 3],
				] as const)
					await store.zAdd("board", member, score);
				await store.zIncrBy("board", "a", 5);
				expect((await store.zRangeByRank("board", 0, -1)).map(entry => entry.member)).toEqual(["b", "c", "a"]);
				expect(await store.zRem("board", "c")).toBe(true);
				expect(await store.zRem("board", "c")).toBe(false);
				expect(await store.zRangeByRank("board", 0, -1)).toEqual([
					{ member: "b", score: 2 },
					{ member: "a", score: 6 },
				]);
				expect(await store.zRem("no-board", "a")).toBe(false);
			});

			it("matches a reference model through 600 random adds, increments and removals", async () => {
				const random = seededRandom(42);
				const members = Array.from({ length: 40 }, (_, i) => (i % 7 === 0 ? `ü${i}` : `player-${i}`));
				const model = new Map<string, number>();
				for (let step = 0; step < 600; step++) {
					const member = members[Math.floor(random() * members.length)];
					const roll = random();
					if (roll < 0.45) {
						const score = Math.floor(random() * 6); // few distinct scores: many ties
						await store.zAdd("board", member, score);
						model.set(member, score);
					} else if (roll < 0.8) {
						const delta = Math.floor(random() * 5) - 2;
						const score = await store.zIncrBy("board", member, delta);
						model.set(member, (model.get(member) ?? 0) + delta);
						expect(score).toBe(model.get(member));
					} else {
						expect(await store.zRem("board", member)).toBe(model.delete(member));
					}
					if (step % 50 === 49) {
						const expected = [...model].map(([m, score]) => ({ member: m, score })).sort(referenceOrder);
						expect(await store.zRangeByRank("board", 0, -1)).toEqual(expected);
						expect(await store.zRangeByRank("board", 0, 9, { descending: true })).toEqual([...expected].reverse().slice(0, 10));
						expect(await store.zCard("board")).toBe(expected.length);
						const probe = expected[Math.floor(expected.length / 2)];
						if (probe) expect(await store.zRank("board", probe.member)).toBe(Math.floor(expected.length / 2));
					}
				}
			});
		});

		describe("lifecycle", () => {
			it("answers ping while open; after close calls reject and close can be repeated", async () => {
				const closing = await openStore();
				await expect(closing.ping()).resolves.toBeUndefined();
				await closing.close();
				await closing.close();
				expect(await rejectionOf(closing.ping())).toBeInstanceOf(Error);
				expect(await rejectionOf(closing.get("anything"))).toBeInstanceOf(Error);
			});

			it("lets calls made before close finish", async () => {
				const closing = await openStore();
				const pending = Promise.all([closing.set("last-words", "said"), closing.incr("count"), closing.zAdd("board", "alice", 1)]);
				await closing.close();
				expect(await pending).toEqual([true, 1, true]);
				expect(await store.get("last-words")).toBe("said");
			});

			it("keeps data after a store closes, for the next store of the same scope", async () => {
				const first = await openStore();
				await first.zAdd("board", "alice", 1);
				await first.close();
				expect(await store.zScore("board", "alice")).toBe(1);
			});
		});
	});
}
