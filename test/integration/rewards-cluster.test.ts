/**
 * Rewards and inboxes in a two-node cluster over NATS on PostgreSQL, on every channels backend: the
 * gateway node serves HTTP, the other runs play, rewards, notifications and analytics. Concurrent
 * claims through the gateway never oversell; what play and claims produce on one node reaches each
 * player's inbox, read through the other, once and in order.
 */
import path from "node:path";
import { randomUUID } from "node:crypto";
import { DEV_KEYS_FILE } from "../../platform/identity/key-store";
import { backend, describeWithBackend } from "../support/backends";
import { httpClient, type HttpClient } from "../support/http";
import { HUNT_TEST_ENV, publishedHunt, signInAdmin, signUp, verifiedPartner } from "../support/hunts";
import { exclusively, KAFKA_LOCK } from "../support/exclusive";
import { deleteKafkaTopics } from "../support/kafka";
import { deleteNatsStreams } from "../support/nats";
import { eventually, startTestNode, type TestNode } from "../support/node";
import { scratchDatabase } from "../support/sql";

jest.setTimeout(180_000);

const AT = { lat: 43.2965, lon: 5.3698 };
const CHANNELS = ["embedded", "redis", "nats", "kafka"] as const;

describeWithBackend("nats", "rewards and inboxes on two nodes", nats =>
	describeWithBackend("postgres", "on PostgreSQL", postgres => {
		for (const channels of CHANNELS) {
			const needs = channels === "embedded" ? "postgres" : channels;
			describeWithBackend(needs, `with ${channels} channels`, () => {
				const namespace = `rewards-cluster-${randomUUID().slice(0, 8)}`;
				let database: Awaited<ReturnType<typeof scratchDatabase>>;
				let gateway: TestNode;
				let backendNode: TestNode;
				let http: HttpClient;
				let releaseKafka: (() => void) | undefined;

				beforeAll(async () => {
					if (channels === "kafka") releaseKafka = await exclusively(KAFKA_LOCK);
					database = await scratchDatabase(postgres.url, "lootopia_rewards");
					const common = {
						...HUNT_TEST_ENV,
						NAMESPACE: namespace,
						TRANSPORTER: nats.url,
						DATABASE_URL: database.url,
						CHANNELS_URL: channels === "embedded" ? "embedded://" : backend(channels).url,
						STORE_URL: "memory://",
					};
					gateway = await startTestNode({ ...common, NODE_ID: `${namespace}-gateway`, SERVICES: "api,auth,users,partners,audit,hunts,geo,leaderboards" }, { waitReady: false });
					const keys = { AUTH_KEYS_FILE: path.join(gateway.dataDir, DEV_KEYS_FILE) };
					backendNode = await startTestNode({ ...common, ...keys, NODE_ID: `${namespace}-play`, SERVICES: "gameplay,rewards,notifications,analytics" });
					await gateway.broker.waitForServices(["gameplay", "rewards", "notifications", "hunts", "auth"], 60_000);
					http = httpClient(gateway.baseUrl);
					await eventually(async () => expect((await fetch(`${gateway.baseUrl}/health/ready`)).status).toBe(200), { timeoutMs: 60_000, intervalMs: 200 });
					// The gateway maps the other node's routes once it has seen them.
					await eventually(async () => expect((await http.get(`/api/rewards/${randomUUID()}`)).status).toBe(401), { timeoutMs: 30_000, intervalMs: 200 });
				}, 180_000);

				afterAll(async () => {
					for (const node of [backendNode, gateway].filter(Boolean)) await node.stop();
					await database?.drop();
					if (channels === "nats") await deleteNatsStreams(nats.url, namespace).catch(() => undefined);
					if (channels === "kafka") await deleteKafkaTopics(backend("kafka").url, namespace).catch(() => undefined);
					releaseKafka?.();
				});

				it("gives no more codes than the stock to finishers claiming at once, and tells each winner in their inbox", async () => {
					const admin = await signInAdmin(http);
					const owner = await signUp(http, "Sponsor");
					const partnerId = await verifiedPartner(http, admin, owner);
					const huntId = await publishedHunt(http, owner, partnerId, "Harbour walk", AT);
					const reward = await http.post(`/api/hunts/${huntId}/rewards`, { title: "Boat ride", stock: 4, rule: { kind: "all_finishers" } }, { token: owner.token });
					expect(reward.status).toBe(201);

					const players = await Promise.all(
						Array.from({ length: 16 }, async (_, index) => {
							const player = await signUp(http, `Sailor ${index}`);
							const joined = await http.post(`/api/hunts/${huntId}/join`, {}, { token: player.token });
							const report = await http.post(`/api/participations/${joined.body.id}/locations`, { ...AT, accuracy: 5, recordedAt: new Date().toISOString() }, { token: player.token });
							expect(report.body.outcome).toBe("completed");
							return player;
						}),
					);
					const claims = await Promise.all(players.map(player => http.post(`/api/rewards/${reward.body.id}/claim`, {}, { token: player.token })));
					const winners = players.filter((_, index) => claims[index].status === 201);
					expect(winners).toHaveLength(4);
					expect(new Set(claims.filter(claim => claim.status === 201).map(claim => claim.body.code)).size).toBe(4);
					expect(claims.filter(claim => claim.status === 409 && claim.body.error.code === "REWARD_EXHAUSTED")).toHaveLength(12);

					// Every player's own steps, and the winners' rewards, each once, numbered in order.
					for (const player of players) {
						const won = winners.includes(player);
						await eventually(
							async () => {
								const inbox = await http.get("/api/notifications", { token: player.token });
								expect(inbox.body.items.map((item: { kind: string }) => item.kind).sort()).toEqual(won ? ["clue_discovered", "hunt_completed", "reward_won"] : ["clue_discovered", "hunt_completed"]);
								expect(inbox.body.items.map((item: { id: number }) => item.id)).toEqual(won ? [3, 2, 1] : [2, 1]);
							},
							{ timeoutMs: 30_000, intervalMs: 200 },
						);
					}
				});
			});
		}
	}),
);
