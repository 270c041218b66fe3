/**
 * The geo index is rebuilt from the hunts' data when a node starts: with the in-memory index, a
 * restarted node finds the hunts published before it stopped without any message being replayed.
 */
import fs from "node:fs";
import { randomUUID } from "node:crypto";
import { httpClient } from "../support/http";
import { HUNT_TEST_ENV, publishedHunt, signInAdmin, signUp, verifiedPartner } from "../support/hunts";
import { eventually, prepareDataDir, startTestNode } from "../support/node";

it("finds hunts published before a restart, from the rebuilt index", async () => {
	const dataDir = prepareDataDir();
	const env = { ...HUNT_TEST_ENV, DATA_DIR: dataDir };
	const point = { lat: -33.8688, lon: 151.2093 };
	const title = `Harbour ${randomUUID().slice(0, 6)}`;
	let huntId: string;
	try {
		const first = await startTestNode(env);
		try {
			const http = httpClient(first.baseUrl);
			const admin = await signInAdmin(http);
			const owner = await signUp(http, "Owner");
			huntId = await publishedHunt(http, owner, await verifiedPartner(http, admin, owner), title, point);
		} finally {
			await first.broker.stop();
			// The node's own scratch folder; the data lives in DATA_DIR.
			fs.rmSync(first.dataDir, { recursive: true, force: true });
		}
		const second = await startTestNode(env);
		try {
			await eventually(async () => {
				const found = await httpClient(second.baseUrl).get(`/api/hunts?lat=${point.lat}&lon=${point.lon}&radius=1000`);
				expect(found.body.items.map((h: { id: string }) => h.id)).toEqual([huntId]);
			});
		} finally {
			await second.broker.stop();
			fs.rmSync(second.dataDir, { recursive: true, force: true });
		}
	} finally {
		fs.rmSync(dataDir, { recursive: true, force: true });
	}
}, 120_000);
