import { distanceM, destination } from "./geo";
import { searchZoneFor, secureRandom, ZONE_RADIUS_MAX_M, ZONE_RADIUS_MIN_M } from "./search-zones";

const place = { lat: 48.8584, lon: 2.2945 };

it("always contains the place and is never centred on it", () => {
	for (let i = 0; i < 5000; i++) {
		const zone = searchZoneFor(place, 150);
		const d = distanceM(place, zone);
		expect(d).toBeLessThanOrEqual(150 + 1e-6);
		expect(d).toBeGreaterThan(0);
	}
});

it("puts the place uniformly inside the zone: the offset's distribution is the disc's, in every direction", () => {
	const n = 20_000;
	const radius = 200;
	// Uniform over a disc: P(d <= r) = (r / R)^2. Ten rings of equal area should be hit equally often.
	const rings = new Array(10).fill(0);
	const quadrants = new Array(4).fill(0);
	for (let i = 0; i < n; i++) {
		const zone = searchZoneFor(place, radius);
		const d = distanceM(place, zone);
		rings[Math.min(9, Math.floor((d / radius) ** 2 * 10))]++;
		quadrants[(zone.lat > place.lat ? 0 : 1) + (zone.lon > place.lon ? 0 : 2)]++;
	}
	// Chi-squared with 9 degrees of freedom: 40 is beyond the 0.001 % tail (a fair draw fails once in 200,000 runs).
	const expected = n / 10;
	const chi = rings.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
	expect(chi).toBeLessThan(40);
	for (const count of quadrants) expect(Math.abs(count - n / 4)).toBeLessThan(n * 0.03);
});

it("does not repeat: two zones for one place differ", () => {
	const zones = new Set(Array.from({ length: 100 }, () => JSON.stringify(searchZoneFor(place, 100))));
	expect(zones.size).toBe(100);
});

it("draws again rather than centre the zone on the place", () => {
	const draws = [0, 0.3, 0.25, 0.5];
	const zone = searchZoneFor(place, 100, () => draws.shift() ?? 0.5);
	expect(distanceM(place, zone)).toBeCloseTo(100 * Math.sqrt(0.25), 3);
});

it("refuses a radius outside the safe bounds", () => {
	expect(() => searchZoneFor(place, ZONE_RADIUS_MIN_M - 1)).toThrow(RangeError);
	expect(() => searchZoneFor(place, ZONE_RADIUS_MAX_M + 1)).toThrow(RangeError);
	expect(() => searchZoneFor(place, Number.NaN)).toThrow(RangeError);
});

it("draws secure floats in [0, 1)", () => {
	for (let i = 0; i < 1000; i++) {
		const value = secureRandom();
		expect(value).toBeGreaterThanOrEqual(0);
		expect(value).toBeLessThan(1);
	}
});

it("moves along the sphere correctly, across the antimeridian too", () => {
	const east = destination({ lat: 0, lon: 179.9999 }, 50, Math.PI / 2);
	expect(east.lon).toBeLessThan(-179.999);
	expect(distanceM({ lat: 0, lon: 179.9999 }, east)).toBeCloseTo(50, 3);
	expect(distanceM(place, destination(place, 1234, 1))).toBeCloseTo(1234, 3);
});
