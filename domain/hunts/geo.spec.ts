import { boxAround, destination, distanceM } from "./geo";

describe("boxAround", () => {
	it("holds every point of the circle, and not much more", () => {
		for (const centre of [
			{ lat: 48.8566, lon: 2.3522 },
			{ lat: -33.87, lon: 151.21 },
			{ lat: 69.65, lon: 18.96 },
		]) {
			for (const radiusM of [50, 3000, 50_000]) {
				const box = boxAround(centre, radiusM)!;
				for (let bearing = 0; bearing < 2 * Math.PI; bearing += Math.PI / 90) {
					const edge = destination(centre, radiusM, bearing);
					expect(edge.lat).toBeGreaterThanOrEqual(box.latMin - 1e-9);
					expect(edge.lat).toBeLessThanOrEqual(box.latMax + 1e-9);
					expect(edge.lon).toBeGreaterThanOrEqual(box.lonMin - 1e-9);
					expect(edge.lon).toBeLessThanOrEqual(box.lonMax + 1e-9);
				}
				// Its corners are outside the circle, but not by more than a square around it allows.
				expect(distanceM(centre, { lat: box.latMax, lon: box.lonMax })).toBeLessThan(radiusM * 1.5);
			}
		}
	});

	it("widens by the padding asked for", () => {
		const tight = boxAround({ lat: 10, lon: 10 }, 1000)!;
		const padded = boxAround({ lat: 10, lon: 10 }, 1000, 0.001)!;
		expect(padded.latMax - tight.latMax).toBeCloseTo(0.001, 9);
		expect(tight.lonMin - padded.lonMin).toBeCloseTo(0.001, 9);
	});

	it("has no plain box for a circle over a pole or across the antimeridian", () => {
		expect(boxAround({ lat: 89.99, lon: 0 }, 5000)).toBeUndefined();
		expect(boxAround({ lat: 0, lon: 179.99 }, 5000)).toBeUndefined();
		expect(boxAround({ lat: 0, lon: -179.99 }, 5000)).toBeUndefined();
		expect(boxAround({ lat: 0, lon: 179.9 }, 5000)).toBeDefined();
	});
});
