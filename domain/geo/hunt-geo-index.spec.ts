import { randomUUID } from "node:crypto";
import { MemoryKeyspace, MemoryStore } from "../../platform/store";
import { HuntGeoIndex } from "./hunt-geo-index";

const at = (minute: number) => `2026-12-01T10:${String(minute).padStart(2, "0")}:00.000Z`;
const area = { lat: 48.8566, lon: 2.3522, radiusM: 1000 };

it("follows a hunt's changes, ignores an older one redelivered after a newer, and lists only public hunts", async () => {
	const index = new HuntGeoIndex(new MemoryStore({ keyspace: new MemoryKeyspace() }));
	const huntId = randomUUID();
	const base = { huntId, partnerId: randomUUID() };
	const near = () => index.nearby({ lat: area.lat, lon: area.lon, radiusM: 100, limit: 10 }).then(hits => hits.map(hit => hit.huntId));
	expect(await index.apply({ ...base, kind: "published", area, visibility: "public", at: at(1) })).toBe("applied");
	expect(await near()).toEqual([huntId]);
	expect(await index.apply({ ...base, kind: "hidden", at: at(2) })).toBe("applied");
	expect(await near()).toEqual([]);
	expect(await index.apply({ ...base, kind: "published", area, visibility: "public", at: at(1) })).toBe("stale");
	expect(await near()).toEqual([]);
	await index.apply({ ...base, kind: "shown", area, visibility: "public", at: at(3) });
	expect(await near()).toEqual([huntId]);
	await index.apply({ ...base, kind: "archived", at: at(4) });
	expect(await near()).toEqual([]);
	const privateHunt = randomUUID();
	await index.apply({ huntId: privateHunt, partnerId: base.partnerId, kind: "published", area, visibility: "private", at: at(5) });
	expect(await near()).toEqual([]);
});
