/**
 * The steps most hunt tests start with, through HTTP: an operator signed in, a user signed up, a
 * verified partner, a published hunt of one clue.
 */
import { randomUUID } from "node:crypto";
import { destination, type LatLon } from "../../domain/hunts/geo";
import type { HttpClient } from "./http";
import { eventually } from "./node";

export const TEST_ADMIN = { email: "ops@lootopia.example", password: "operator passphrase 42" };
export const TEST_PASSWORD = "a perfectly fine passphrase";
/** Node settings that let a test sign up and search as fast as it likes, with the operator above. */
export const HUNT_TEST_ENV = { ADMIN_EMAIL: TEST_ADMIN.email, ADMIN_PASSWORD: TEST_ADMIN.password, RATE_LIMIT_PER_MINUTE: "0", REGISTRATIONS_PER_HOUR: "0" };

export function signInAdmin(http: HttpClient): Promise<string> {
	return eventually(async () => {
		const res = await http.post("/api/auth/login", TEST_ADMIN);
		if (res.status !== 200) throw new Error(`admin not ready: ${res.status}`);
		return res.body.accessToken as string;
	});
}

export async function signUp(http: HttpClient, displayName: string): Promise<{ userId: string; token: string }> {
	const res = await http.post("/api/auth/register", { email: `${randomUUID()}@example.com`, password: TEST_PASSWORD, displayName });
	if (res.status !== 201) throw new Error(`sign-up answered ${res.status}`);
	return { userId: res.body.user.id, token: res.body.accessToken };
}

export async function verifiedPartner(http: HttpClient, adminToken: string, owner: { token: string }): Promise<string> {
	const partner = await http.post("/api/partners", { name: `Partner ${randomUUID().slice(0, 6)}` }, { token: owner.token });
	if (partner.status !== 201) throw new Error(`partner creation answered ${partner.status}`);
	const verified = await http.post(`/api/partners/${partner.body.id}/verify`, {}, { token: adminToken });
	if (verified.status !== 200) throw new Error(`verification answered ${verified.status}`);
	return partner.body.id;
}

/** A public hunt (unless `extra` says otherwise) of one clue at its centre, published; its id. */
export async function publishedHunt(
	http: HttpClient,
	owner: { token: string },
	partnerId: string,
	title: string,
	at: { lat: number; lon: number },
	extra: Record<string, unknown> = {},
): Promise<string> {
	const hunt = await http.post(
		"/api/hunts",
		{ partnerId, title, description: "A hunt to find", tags: [], area: { ...at, radiusM: 1000 }, startsAt: "2026-01-01T00:00:00Z", endsAt: "2099-01-01T00:00:00Z", visibility: "public", ...extra },
		{ token: owner.token },
	);
	if (hunt.status !== 201) throw new Error(`hunt creation answered ${hunt.status}: ${JSON.stringify(hunt.body)}`);
	const clue = await http.post(`/api/hunts/${hunt.body.id}/clues`, { title: "Start", position: at, radiusM: 20, content: "Look up", points: 10 }, { token: owner.token });
	if (clue.status !== 201) throw new Error(`clue answered ${clue.status}`);
	const published = await http.post(`/api/hunts/${hunt.body.id}/publish`, {}, { token: owner.token });
	if (published.status !== 200) throw new Error(`publish answered ${published.status}: ${JSON.stringify(published.body)}`);
	return hunt.body.id;
}

export const TRAIL_ANSWER = "Fourvière Basilica";

/**
 * A published three-clue trail heading east from `start`: Hill at 0 m (a challenge answered by
 * TRAIL_ANSWER, and a hint costing 4), Bridge at 300 m, Square (the finish) at 600 m; 10, 20 and 30
 * points. `extra` changes the hunt's fields (its window, say).
 */
export async function publishedTrail(
	http: HttpClient,
	owner: { token: string },
	partnerId: string,
	start: LatLon,
	extra: Record<string, unknown> = {},
): Promise<{ huntId: string; clueIds: string[]; answer: string }> {
	const east = (metres: number) => destination(start, metres, Math.PI / 2);
	const hunt = await http.post(
		"/api/hunts",
		{
			partnerId,
			title: "Lyon trail",
			description: "Three places",
			tags: [],
			area: { ...start, radiusM: 2000 },
			startsAt: "2026-01-01T00:00:00Z",
			endsAt: "2099-01-01T00:00:00Z",
			visibility: "public",
			timeLimitMinutes: 240,
			...extra,
		},
		{ token: owner.token },
	);
	if (hunt.status !== 201) throw new Error(`hunt creation answered ${hunt.status}: ${hunt.text}`);
	const clues = [
		{
			title: "Hill",
			position: east(0),
			radiusM: 25,
			content: "Climb to the basilica",
			challenge: { question: "Which basilica?", answer: TRAIL_ANSWER },
			hints: [{ text: "It overlooks the city", cost: 4 }],
			points: 10,
		},
		{ title: "Bridge", position: east(300), radiusM: 25, content: "Cross the river", points: 20 },
		{ title: "Square", position: east(600), radiusM: 25, content: "The end", points: 30 },
	];
	const clueIds: string[] = [];
	for (const clue of clues) clueIds.push((await http.post(`/api/hunts/${hunt.body.id}/clues`, clue, { token: owner.token })).body.id);
	await http.put(`/api/hunts/${hunt.body.id}/paths`, { paths: clueIds.slice(1).map((to, index) => ({ from: clueIds[index], to })) }, { token: owner.token });
	const published = await http.post(`/api/hunts/${hunt.body.id}/publish`, {}, { token: owner.token });
	if (published.status !== 200) throw new Error(`publish answered ${published.status}: ${published.text}`);
	return { huntId: hunt.body.id, clueIds, answer: TRAIL_ANSWER };
}
