/**
 * Distances and offsets on the Earth (WGS 84 treated as a sphere of mean radius: metres of error
 * over the few kilometres a hunt spans, far below GPS accuracy).
 */
export const EARTH_RADIUS_M = 6_371_008.8;

export interface LatLon {
	lat: number;
	lon: number;
}

const rad = (degrees: number) => (degrees * Math.PI) / 180;
const deg = (radians: number) => (radians * 180) / Math.PI;

/** Great-circle distance in metres (haversine). */
export function distanceM(a: LatLon, b: LatLon): number {
	const dLat = rad(b.lat - a.lat);
	const dLon = rad(b.lon - a.lon);
	const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
	return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The point `distance` metres from `from` along `bearing` (radians clockwise from north). */
export function destination(from: LatLon, distance: number, bearing: number): LatLon {
	const angular = distance / EARTH_RADIUS_M;
	const lat1 = rad(from.lat);
	const lon1 = rad(from.lon);
	const lat2 = Math.asin(Math.sin(lat1) * Math.cos(angular) + Math.cos(lat1) * Math.sin(angular) * Math.cos(bearing));
	const lon2 = lon1 + Math.atan2(Math.sin(bearing) * Math.sin(angular) * Math.cos(lat1), Math.cos(angular) - Math.sin(lat1) * Math.sin(lat2));
	// Normalised to [-180, 180): a zone near the antimeridian stays a valid longitude.
	return { lat: deg(lat2), lon: ((((deg(lon2) + 180) % 360) + 360) % 360) - 180 };
}

export interface LatLonBox {
	latMin: number;
	latMax: number;
	lonMin: number;
	lonMax: number;
}

/**
 * A latitude/longitude box holding the whole circle, widened by `padDeg`; undefined when no such
 * box is a plain range: the circle covers a pole or crosses the antimeridian.
 */
export function boxAround(centre: LatLon, radiusM: number, padDeg = 0): LatLonBox | undefined {
	const angular = radiusM / EARTH_RADIUS_M;
	const latSpan = deg(angular) + padDeg;
	if (Math.abs(centre.lat) + latSpan >= 90) return undefined;
	// The exact half-width in longitude of a spherical cap that holds no pole.
	const lonSpan = deg(Math.asin(Math.sin(angular) / Math.cos(rad(centre.lat)))) + padDeg;
	if (centre.lon - lonSpan < -180 || centre.lon + lonSpan > 180) return undefined;
	return { latMin: centre.lat - latSpan, latMax: centre.lat + latSpan, lonMin: centre.lon - lonSpan, lonMax: centre.lon + lonSpan };
}
