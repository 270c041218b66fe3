/**
 * The geo index is rebuilt from the hunts' data when a node starts: with the in-memory index, a
 * restarted node finds the hunts published before it stopped without any message being replayed.
 */
import fs from "node:fs";
import { randomUUID } from "node:crypto";
import { httpClient } from "../support/http";
import { eventually, prepareDataDir, startTestNode } from "../support/node";

it("finds hunts published before a restart, from the rebuilt index", async () => {
	const dataDir = prepareDataDir();
	const env = { DATA_DIR: dataDir, ADMIN_EMAIL: "ops@lootopia.example", ADMIN_PASSWORD: "operator passphrase 42", RATE_LIMIT_PER_MINUTE: "0", REGISTRATIONS_PER_HOUR: "0" };
	const point = { lat: -33.8688, lon: 151.2093 };
	const title = `Harbour ${randomUUID().slice(0, 6)}`;
	let huntId: string;
	try {
		const first = await startTestNode(env);
		try {
			const http = httpClient(first.baseUrl);
			const admin = await eventually(async () => (await http.post("/api/auth/login", { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD })).body.accessToken as string);
			const owner = await http.post("/api/auth/register", { email: `${randomUUID()}@example.com`, password: "a perfectly fine passphrase", displayName: "Owner" });
			const partner = await http.post("/api/partners", { name: "Harbour Co" }, { token: owner.body.accessToken });
			await http.post(`/api/partners/${partner.body.id}/verify`, {}, { token: admin });
			const hunt = await http.post(
				"/api/hunts",
				{ partnerId: partner.body.id, title, description: "d", tags: [], area: { ...point, radiusM: 500 }, startsAt: "2026-01-01T00:00:00Z", endsAt: "2099-01-01T00:00:00Z", visibility: "public" },
				{ token: owner.body.accessToken },
			);
			huntId = hunt.body.id;
			await http.post(`/api/hunts/${huntId}/clues`, { title: "c", position: point, radiusM: 10, content: "x", points: 1 }, { token: owner.body.accessToken });
			expect((await http.post(`/api/hunts/${huntId}/publish`, {}, { token: owner.body.accessToken })).status).toBe(200);
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
