/**
 * Where published public hunts are: a geo index in the key-value store (memory by default, Redis
 * GEO with STORE_URL), kept by the hunts.changed channel and rebuilt from the hunts service at start.
 *
 * Messages about one hunt arrive in order, but a redelivery may bring an older one back after a
 * newer: each hunt keeps the time of the last change applied, and an older change is ignored.
 */
import type { HuntChangeMessage } from "../../contracts/hunts";
import type { KeyValueStore } from "../../platform/store/types";

const INDEX = "geo:hunts";
const appliedKey = (huntId: string) => `geo:applied:${huntId}`;

export interface NearbyHunt {
	huntId: string;
	distanceM: number;
}

export class HuntGeoIndex {
	constructor(private readonly store: KeyValueStore) {}

	async apply(change: HuntChangeMessage): Promise<"applied" | "stale"> {
		const last = await this.store.get(appliedKey(change.huntId));
		if (last !== null && last >= change.at) return "stale";
		if ((change.kind === "published" || change.kind === "shown") && change.visibility === "public") {
			await this.store.geoAdd(INDEX, change.huntId, { lat: change.area.lat, lon: change.area.lon });
		} else {
			await this.store.geoRemove(INDEX, change.huntId);
		}
		await this.store.set(appliedKey(change.huntId), change.at);
		return "applied";
	}

	/** Rebuilding: a hunt the hunts service lists as visible now. */
	async place(huntId: string, at: { lat: number; lon: number }): Promise<void> {
		await this.store.geoAdd(INDEX, huntId, at);
	}

	async nearby(query: { lat: number; lon: number; radiusM: number; limit: number }): Promise<NearbyHunt[]> {
		const hits = await this.store.geoSearch(INDEX, query);
		return hits.map(hit => ({ huntId: hit.member, distanceM: Math.round(hit.distanceM * 10) / 10 }));
	}
}
