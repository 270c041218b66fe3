/**
 * Search zones: what a player looking for a clue is shown instead of its place. A circle that
 * contains the place, whose centre is the place moved by a random offset drawn uniformly over the
 * disc, so that, seen from the zone, the place is uniformly distributed inside it: the centre tells
 * nothing more than "somewhere in here". Fixed once, when the hunt is published.
 *
 * The randomness is the operating system's (crypto), not Math.random, whose sequence can be
 * recovered from a few outputs: predictable offsets would give places away.
 */
import { randomBytes } from "node:crypto";
import { destination, type LatLon } from "./geo";

export interface SearchZone extends LatLon {
	radiusM: number;
}

/** Bounds on a hunt's zone radius: smaller gives a place away, larger is no game. */
export const ZONE_RADIUS_MIN_M = 30;
export const ZONE_RADIUS_MAX_M = 2000;
export const ZONE_RADIUS_DEFAULT_M = 150;

/** A uniform float in [0, 1) with 53 random bits. */
export function secureRandom(): number {
	const bytes = randomBytes(8);
	const high = bytes.readUInt32BE(0) >>> 5; // 27 bits
	const low = bytes.readUInt32BE(4) >>> 6; // 26 bits
	return (high * 67108864 + low) / 9007199254740992;
}

/**
 * The zone for a place. `random` is injectable for tests; the offset is never zero (a draw that
 * lands within a centimetre of the place is drawn again), so the zone is never centred on it.
 */
export function searchZoneFor(place: LatLon, radiusM: number, random: () => number = secureRandom): SearchZone {
	if (!(radiusM >= ZONE_RADIUS_MIN_M && radiusM <= ZONE_RADIUS_MAX_M)) throw new RangeError(`zone radius ${radiusM} m is outside ${ZONE_RADIUS_MIN_M}–${ZONE_RADIUS_MAX_M} m`);
	for (;;) {
		// sqrt: uniform over the disc's area, not bunched at its centre.
		const offset = radiusM * Math.sqrt(random());
		const bearing = 2 * Math.PI * random();
		if (offset < 0.01) continue;
		const centre = destination(place, offset, bearing);
		return { lat: centre.lat, lon: centre.lon, radiusM };
	}
}
