/**
 * The memory geo index against Redis GEOSEARCH on the same 10,000 random hunts: for every query the
 * same members, in the same order, at the same distances to the digits Redis prints. A reference
 * index (the memory store) that only approximated Redis would let a cluster on Redis and a
 * single node disagree about which hunts are "near me".
 */
import { randomUUID } from "node:crypto";
import { describeWithBackend } from "../../test/support/backends";
import { createStore, MemoryKeyspace, MemoryStore } from "./index";
import type { GeoHit, KeyValueStore } from "./types";

describeWithBackend("redis", "memory geo index ≡ Redis GEOSEARCH", status => {
	const prefix = `geo-eq-${randomUUID().slice(0, 8)}:`;
	const memory = new MemoryStore({ keyPrefix: prefix, keyspace: new MemoryKeyspace() });
	let redis: KeyValueStore;
	let seed = 424242;
	const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
	// Most hunts in and around two cities, some anywhere: dense and sparse neighbourhoods alike.
	const place = () => {
		const roll = random();
		if (roll < 0.45) return { lat: 48.6 + random() * 0.6, lon: 1.9 + random() * 0.9 };
		if (roll < 0.8) return { lat: 45.6 + random() * 0.3, lon: 4.7 + random() * 0.3 };
		return { lat: -80 + random() * 160, lon: -180 + random() * 360 };
	};

	beforeAll(async () => {
		redis = createStore({ url: status.url, keyPrefix: prefix });
		const hunts = Array.from({ length: 10_000 }, (_, i) => ({ member: `hunt-${i}`, at: place() }));
		for (let i = 0; i < hunts.length; i += 500) {
			await Promise.all(hunts.slice(i, i + 500).flatMap(({ member, at }) => [memory.geoAdd("hunts", member, at), redis.geoAdd("hunts", member, at)]));
		}
	}, 120_000);
	afterAll(async () => {
		await redis.del("hunts");
		await redis.close();
	});

	const printed = (hits: GeoHit[]) => hits.map(hit => `${hit.member} ${hit.distanceM.toFixed(4)}`);

	it("returns exactly what Redis returns, for 300 queries of every radius up to 50 km, with and without a limit", async () => {
		let compared = 0;
		for (let q = 0; q < 300; q++) {
			const centre = q % 3 === 2 ? place() : random() < 0.5 ? { lat: 48.6 + random() * 0.6, lon: 1.9 + random() * 0.9 } : { lat: 45.6 + random() * 0.3, lon: 4.7 + random() * 0.3 };
			const query = { ...centre, radiusM: Math.round(50 + random() * 49_950), ...(q % 4 === 0 ? { limit: 1 + Math.floor(random() * 50) } : {}) };
			const [fromMemory, fromRedis] = await Promise.all([memory.geoSearch("hunts", query), redis.geoSearch("hunts", query)]);
			expect({ query, hits: printed(fromMemory) }).toEqual({ query, hits: printed(fromRedis) });
			compared += fromRedis.length;
		}
		// Not vacuous: the queries found thousands of hunts between them.
		expect(compared).toBeGreaterThan(10_000);
	}, 120_000);

	it("agrees on the nearest few too, where the memory index stops reading early: grid lines, tight limits, the antimeridian", async () => {
		let compared = 0;
		for (let q = 0; q < 300; q++) {
			let centre = q % 5 === 4 ? place() : random() < 0.5 ? { lat: 48.6 + random() * 0.6, lon: 1.9 + random() * 0.9 } : { lat: 45.6 + random() * 0.3, lon: 4.7 + random() * 0.3 };
			// On a cell's edge or corner (the grid is 0.01°), where a lower bound that was off would show.
			if (q % 3 === 0) centre = { lat: Math.round(centre.lat * 100) / 100, lon: q % 2 ? Math.round(centre.lon * 100) / 100 : centre.lon };
			if (q % 50 === 7) centre = { lat: -80 + random() * 160, lon: q % 100 === 7 ? 179.995 : -179.995 };
			const query = { ...centre, radiusM: Math.round(200 + random() * (q % 2 ? 5_000 : 50_000)), limit: 1 + Math.floor(random() * (q % 4 === 1 ? 3 : 60)) };
			const [fromMemory, fromRedis] = await Promise.all([memory.geoSearch("hunts", query), redis.geoSearch("hunts", query)]);
			expect({ query, hits: printed(fromMemory) }).toEqual({ query, hits: printed(fromRedis) });
			compared += fromRedis.length;
		}
		expect(compared).toBeGreaterThan(3_000);
	}, 120_000);

	it("places a point where Redis does", async () => {
		for (let i = 0; i < 200; i++) {
			const member = `hunt-${Math.floor(random() * 10_000)}`;
			const [a, b] = await Promise.all([memory.geoPosition("hunts", member), redis.geoPosition("hunts", member)]);
			expect(a!.lat).toBeCloseTo(b!.lat, 12);
			expect(a!.lon).toBeCloseTo(b!.lon, 12);
		}
	});
});
