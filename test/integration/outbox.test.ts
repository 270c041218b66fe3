/**
 * Nothing accepted is lost and nothing is doubled, on every channels backend and both databases:
 * - the channel backend goes away (a TCP proxy in front of it is cut) while changes are made: every
 *   change is answered, and once it is back each fact reaches the audit log exactly once;
 * - a node is killed (SIGKILL) after committing changes it had not sent yet: the next node on the
 *   same database sends them, once;
 * - a message delivered twice (a relay that died after sending, before recording it) is acted on once.
 * Embedded channels live in the service database itself, so "the backend away" is the database
 * away, when nothing can be accepted; there the kill happens in the middle of a burst instead.
 */
import { randomUUID } from "node:crypto";
import type { Service, ServiceBroker } from "moleculer";
import { sendToChannel } from "../../platform/channels";
import { SESSIONS_REVOKED_CHANNEL, USER_DELETED_CHANNEL } from "../../contracts/auth";
import { sessionRevocations } from "../../platform/moleculer/authorization";
import { Outbox } from "../../platform/outbox/outbox";
import { embeddedDatabaseDir } from "../../platform/sql";
import { openPGlite } from "../../platform/sql/pglite-client";
import { messageId } from "../../platform/outbox/message-id";
import { backend, describeWithBackend } from "../support/backends";
import { httpClient, type HttpClient } from "../support/http";
import { deleteKafkaTopics } from "../support/kafka";
import { deleteNatsStreams } from "../support/nats";
import { eventually, freePort, startTestNode, type TestNode } from "../support/node";
import { startScript, type NodeProcess } from "../support/node-process";
import { openTestPostgres } from "../support/sql";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";
import { exclusively, KAFKA_LOCK } from "../support/exclusive";
import { channelsUnderTest, databasesUnderTest, type ChannelsUnderTest, type DatabaseUnderTest } from "../support/channel-outages";

jest.setTimeout(120_000);

const ADMIN = { email: "outbox-admin@example.com", password: "an admin passphrase for outbox tests" };
const PASSWORD = "a player passphrase that is long";

const databases = databasesUnderTest("lootopia_outbox");

const outboxOf = (broker: ServiceBroker, service: string) => (broker.getLocalService(service) as Service & { database: { outbox: Outbox } }).database.outbox;

async function signIn(http: HttpClient, email: string, password: string): Promise<string> {
	const res = await http.post("/api/auth/login", { email, password });
	if (res.status !== 200) throw new Error(`login ${res.status}: ${res.text}`);
	return res.body.accessToken;
}

/** partners.created facts in the audit log, by partner id: each must appear exactly once. */
async function createdFacts(http: HttpClient, adminToken: string): Promise<Map<string, number>> {
	const counts = new Map<string, number>();
	let before: number | undefined;
	for (;;) {
		const res = await http.get(`/api/admin/audit?action=partners.created&limit=200${before ? `&before=${before}` : ""}`, { token: adminToken });
		if (res.status !== 200) throw new Error(`audit search ${res.status}: ${res.text}`);
		for (const entry of res.body.entries as Array<{ subject: { id: string } }>) counts.set(entry.subject.id, (counts.get(entry.subject.id) ?? 0) + 1);
		if (!res.body.nextBefore) return counts;
		before = res.body.nextBefore;
	}
}

/**
 * A create a client retries after a dropped connection (a loaded machine, a keep-alive socket the
 * server closed just then), made safe by the Idempotency-Key: retried, it still creates one partner.
 */
async function createPartner(http: HttpClient, token: string, name: string): Promise<{ status: number; body: { id: string } }> {
	const headers = { "Idempotency-Key": randomUUID() };
	for (let attempt = 1; ; attempt++) {
		try {
			return await http.post("/api/partners", { name }, { token, headers });
		} catch (err) {
			if (attempt >= 3) throw err;
		}
	}
}

function expectEachOnce(counts: Map<string, number>, ids: string[]): void {
	expect(ids.map(id => [id, counts.get(id) ?? 0])).toEqual(ids.map(id => [id, 1]));
}

for (const channels of channelsUnderTest()) {
	for (const database of databases) {
		const title = `outbox with ${channels.name} channels on ${database.name}`;
		const needs = [channels.name === "embedded" ? undefined : channels.name, database.backend].filter((n): n is "redis" | "nats" | "kafka" | "postgres" => n !== undefined);
		const suite = () => outboxSuite(channels, database);
		// Nested so a missing backend names itself in the skipped title.
		const wrap = needs.reduceRight<() => void>(
			(body, name) => () => describeWithBackend(name, name, body),
			() => describe(title, suite),
		);
		wrap();
	}
}

function outboxSuite(channels: ChannelsUnderTest, database: (typeof databases)[number]): void {
	const namespace = `outbox-${channels.name}-${randomUUID().slice(0, 8)}`;
	let db: DatabaseUnderTest;
	let proxy: TcpProxy | undefined;
	let releaseListenPort: (() => void) | undefined;
	let channelsUrl: string;
	const common = () => ({
		...db.env,
		CHANNELS_URL: channelsUrl,
		NAMESPACE: namespace,
		ADMIN_EMAIL: ADMIN.email,
		ADMIN_PASSWORD: ADMIN.password,
		RATE_LIMIT_PER_MINUTE: "0",
		REGISTRATIONS_PER_HOUR: "0",
		OUTBOX_POLL_MS: "100",
		OUTBOX_LEASE_SECONDS: "2",
	});

	beforeAll(async () => {
		db = await database.open();
		if (channels.proxied) {
			// Kafka's advertised proxied port is fixed: one test file at a time holds it.
			if (channels.proxied.listenPort) releaseListenPort = await exclusively(KAFKA_LOCK);
			proxy = await startTcpProxy({ host: channels.proxied.host, port: channels.proxied.port }, channels.proxied.listenPort);
			channelsUrl = proxy.url(channels.proxied.scheme);
		} else {
			channelsUrl = "embedded://";
		}
	});
	afterAll(async () => {
		await proxy?.close();
		releaseListenPort?.();
		await db?.close();
		// Topics are the cluster's: cleaned up through the normal listener.
		if (channels.name === "kafka") await deleteKafkaTopics(backend("kafka").url, namespace).catch(() => undefined);
		if (channels.name === "nats") await deleteNatsStreams(backend("nats").url, namespace).catch(() => undefined);
	});

	if (channels.proxied) {
		it("answers every change while the channel backend is away, then delivers each fact once", async () => {
			const node = await startTestNode(common());
			try {
				const http = httpClient(node.baseUrl);
				const email = `away-${randomUUID().slice(0, 8)}@example.com`;
				expect((await http.post("/api/auth/register", { email, password: PASSWORD, displayName: "Ana" })).status).toBe(201);
				const token = await signIn(http, email, PASSWORD);
				const adminToken = await signIn(http, ADMIN.email, ADMIN.password);

				await proxy!.cut();
				const ids: string[] = [];
				for (let i = 0; i < 8; i++) {
					const res = await createPartner(http, token, `Away ${i}`);
					expect(res.status).toBe(201);
					ids.push(res.body.id);
				}
				expect((await http.patch("/api/users/me", { displayName: "Ana Away" }, { token })).status).toBe(200);
				expect((await outboxOf(node.broker, "partners").backlog()).pending).toBeGreaterThanOrEqual(8);
				expect((await outboxOf(node.broker, "users").backlog()).pending).toBe(1);

				await proxy!.restore();
				await eventually(async () => expectEachOnce(await createdFacts(http, adminToken), ids), { timeoutMs: 60_000, intervalMs: 500 });
				// The rename reached the auth service through its channel.
				await eventually(async () => expect((await http.get("/api/auth/me", { token })).body.displayName).toBe("Ana Away"), { timeoutMs: 30_000, intervalMs: 200 });
				await eventually(async () => expect((await outboxOf(node.broker, "partners").backlog()).pending).toBe(0));
				// Settled: later relay passes or redeliveries add nothing.
				await new Promise(resolve => setTimeout(resolve, 1000));
				expectEachOnce(await createdFacts(http, adminToken), ids);
			} finally {
				await proxy!.restore();
				await node.stop();
			}
		});
	}

	it("sends what a killed node had committed but not sent, once", async () => {
		const port = await freePort();
		const child: NodeProcess = startScript("platform/runtime/start.ts", { ...common(), PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "error" });
		const http = httpClient(`http://127.0.0.1:${port}`);
		let pendingAtKill = 0;
		const ids: string[] = [];
		try {
			await eventually(async () => expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200), { timeoutMs: 60_000, intervalMs: 200 });
			const email = `killed-${randomUUID().slice(0, 8)}@example.com`;
			expect((await http.post("/api/auth/register", { email, password: PASSWORD, displayName: "Bo" })).status).toBe(201);
			const token = await signIn(http, email, PASSWORD);
			// Committed but not sendable: the backend is away (embedded: it is the database, so the
			// node is killed in the middle of a burst of changes instead).
			await proxy?.cut();
			// Requests the kill cuts short fail; what counts is what the database holds afterwards.
			const burst = Array.from({ length: 12 }, (_, i) =>
				createPartner(http, token, `Killed ${i}`)
					.then(res => res.status === 201 && ids.push(res.body.id))
					.catch(() => undefined),
			);
			if (proxy) await Promise.all(burst);
			else await Promise.race([Promise.all(burst), new Promise(resolve => setTimeout(resolve, 150))]);
			if (child.child.exitCode !== null) throw new Error(`the node exited on its own before the kill:\n${child.output()}`);
			if (proxy) expect(ids).toHaveLength(12);
		} finally {
			child.child.kill("SIGKILL");
			await child.exited;
			await proxy?.restore();
		}
		// Read before any node runs again: what the killed node left unsent.
		const left = db.env.DATABASE_URL ? openTestPostgres(db.env.DATABASE_URL) : await openPGlite(embeddedDatabaseDir(db.env.DATA_DIR));
		try {
			pendingAtKill = (await new Outbox(left, "partners").backlog()).pending;
		} finally {
			await left.close();
		}
		if (proxy) expect(pendingAtKill).toBeGreaterThanOrEqual(ids.length);

		const node: TestNode = await startTestNode(common());
		try {
			const outbox = outboxOf(node.broker, "partners");
			const nodeHttp = httpClient(node.baseUrl);
			const adminToken = await signIn(nodeHttp, ADMIN.email, ADMIN.password);
			// Every partner that exists has its fact once, including those whose answer the kill swallowed.
			const partners = await nodeHttp.get("/api/admin/partners?limit=200", { token: adminToken });
			const existing = (partners.body as Array<{ id: string; name: string }>).filter(p => p.name.startsWith("Killed ")).map(p => p.id);
			expect(existing).toEqual(expect.arrayContaining(ids));
			await eventually(async () => expectEachOnce(await createdFacts(nodeHttp, adminToken), existing), { timeoutMs: 60_000, intervalMs: 500 });
			await eventually(async () => expect((await outbox.backlog()).pending).toBe(0));
		} finally {
			await node.stop();
		}
	});

	it("marks revoked sessions in the shared store from the channel, for when the immediate mark did not happen", async () => {
		const node = await startTestNode(common());
		try {
			const sessionId = randomUUID();
			await outboxOf(node.broker, "auth").transaction(messages => messages.add(SESSIONS_REVOKED_CHANNEL, { sessionIds: [sessionId], at: new Date().toISOString() }));
			await eventually(async () => expect(await sessionRevocations(node.broker).isRevoked(sessionId)).toBe(true), { timeoutMs: 60_000, intervalMs: 100 });
		} finally {
			await node.stop();
		}
	});

	it("acts once on a message delivered twice", async () => {
		const node = await startTestNode(common());
		const deletions: string[] = [];
		node.broker.createService({
			name: `probe-${randomUUID().slice(0, 8)}`,
			events: {
				"user.deleted"(ctx: { params: { userId: string } }) {
					deletions.push(ctx.params.userId);
				},
			},
		});
		try {
			const http = httpClient(node.baseUrl);
			const owner = `owner-${randomUUID().slice(0, 8)}@example.com`;
			const member = `member-${randomUUID().slice(0, 8)}@example.com`;
			const ownerToken = (await http.post("/api/auth/register", { email: owner, password: PASSWORD, displayName: "Cy" })).body.accessToken;
			const memberId = (await http.post("/api/auth/register", { email: member, password: PASSWORD, displayName: "Di" })).body.user.id;
			const partner = (await http.post("/api/partners", { name: "Twice Ltd" }, { token: ownerToken })).body.id;
			expect((await http.put(`/api/partners/${partner}/members/${memberId}`, { role: "editor" }, { token: ownerToken })).status).toBe(200);

			// The same signed message, with the same id, twice: as a relay that died between sending
			// and recording the send would deliver it.
			const id = messageId();
			const message = { userId: memberId, at: new Date().toISOString() };
			await sendToChannel(node.broker, USER_DELETED_CHANNEL, message, { sender: "auth", messageId: id });
			await sendToChannel(node.broker, USER_DELETED_CHANNEL, message, { sender: "auth", messageId: id });
			await eventually(async () => expect((await http.get(`/api/partners/${partner}`, { token: ownerToken })).body.members.map((m: { userId: string }) => m.userId)).not.toContain(memberId), {
				timeoutMs: 30_000,
			});
			await eventually(async () => expect(deletions).toEqual([memberId]), { timeoutMs: 30_000 });
			const partners = (node.broker.getLocalService("partners") as Service & { database: { db: { query(text: string, params: unknown[]): Promise<{ rows: Array<{ n: number }> }> } } }).database;
			await eventually(async () => expect((await partners.db.query(`select count(*)::int as n from "partners".inbox where message_id = $1`, [id])).rows[0].n).toBe(1));
			// Both copies are handled (acknowledged) by now; the second changed nothing.
			await new Promise(resolve => setTimeout(resolve, 1000));
			expect(deletions).toEqual([memberId]);
		} finally {
			await node.stop();
		}
	});
}
