/**
 * Where Redis puts a point: GEOADD keeps a 52-bit geohash (26 bits of latitude, 26 of longitude
 * over Redis's Web Mercator latitude range) and answers GEOPOS, distances and radius matches from
 * the centre of that cell (geohash.c: geohashEncode, geohashDecode, geohashDecodeAreaToLongLat).
 * The memory store places points the same way, so both stores return the same members at the same
 * distances, to the last digit Redis prints.
 */
import type { GeoPoint } from "./types";

export const GEO_LAT_MIN = -85.05112878;
export const GEO_LAT_MAX = 85.05112878;
const GEO_LON_MIN = -180;
const GEO_LON_MAX = 180;
const STEP_CELLS = 2 ** 26;

/** The cell's centre, as Redis decodes a stored point. */
export function redisGeoCell({ lat, lon }: GeoPoint): GeoPoint {
	// C converts the scaled offsets to uint32: truncation toward zero.
	const latIndex = Math.trunc(((lat - GEO_LAT_MIN) / (GEO_LAT_MAX - GEO_LAT_MIN)) * STEP_CELLS);
	const lonIndex = Math.trunc(((lon - GEO_LON_MIN) / (GEO_LON_MAX - GEO_LON_MIN)) * STEP_CELLS);
	const latScale = GEO_LAT_MAX - GEO_LAT_MIN;
	const lonScale = GEO_LON_MAX - GEO_LON_MIN;
	const latMin = GEO_LAT_MIN + ((latIndex * 1.0) / STEP_CELLS) * latScale;
	const latMax = GEO_LAT_MIN + (((latIndex + 1) * 1.0) / STEP_CELLS) * latScale;
	const lonMin = GEO_LON_MIN + ((lonIndex * 1.0) / STEP_CELLS) * lonScale;
	const lonMax = GEO_LON_MIN + (((lonIndex + 1) * 1.0) / STEP_CELLS) * lonScale;
	return {
		lat: Math.min(GEO_LAT_MAX, Math.max(GEO_LAT_MIN, (latMin + latMax) / 2)),
		lon: Math.min(GEO_LON_MAX, Math.max(GEO_LON_MIN, (lonMin + lonMax) / 2)),
	};
}
