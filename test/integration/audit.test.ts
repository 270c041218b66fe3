/**
 * The audit service through a broker built like a production node: the Authorization middleware
 * (tokens checked against a stand-in auth service's keys, which are the development key file the
 * REPL's operator tokens are signed with), durable channels on the embedded SQL log in a throw-away
 * DATA_DIR, and facts sent on the channel the way producers' outbox relays send them (sendFact).
 */
import fs from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import { AUDIT_CHANNEL, type AuditEntry, type AuditSearchResult, type AuditVerifyResult } from "../../contracts/audit";
import { loadConfig, type AppConfig } from "../../platform/config/env";
import { DEAD_LETTER_CHANNEL, sendToChannel } from "../../platform/channels";
import type { SqlClient } from "../../platform/sql";
import { loadSigningKeys } from "../../platform/identity/key-store";
import { generateSigningKey, publicKeysOf, signAccessToken, type KeyRing } from "../../platform/identity/tokens";
import { SIGNATURE_HEADER, signMessage } from "../../platform/channels/message-signing";
import { completeFact, type NewAuditFact } from "../../domain/audit/facts";
import { nodeBackends } from "../../platform/runtime/node-backends";
import { createNode } from "../../platform/runtime/broker";
import { auditReplCommands, followAudit, parseAnchor, verifyAudit } from "../../services/audit.repl";
import { contentOf, entryHash } from "../../domain/audit/chain";
import { OpenSearchAuditIndex } from "../../domain/audit/search-index";
import { describeWithBackend } from "../support/backends";
import { BACKENDS_DIR } from "../backends/host";
import { bringDown, bringUp } from "../backends/lifecycle";
import { opensearchServer, type BackendServer } from "../backends/servers";
import { eventually, freePort, prepareDataDir } from "../support/node";
import { rejectionOf } from "../support/async";

const shortId = () => randomUUID().replace(/-/g, "").slice(0, 8);
/** Facts are signed as one of the services allowed to record them (the channel contracts in contracts/). */
const AS_PRODUCER = "partners";

/** A fact sent straight on the channel, signed as `sender`, the way a producer's outbox relay sends it. */
function sendFact(broker: ServiceBroker, fact: NewAuditFact, opts: { sender: string; idempotencyKey?: string }): Promise<void> {
	const complete = completeFact(fact, opts.idempotencyKey);
	return sendToChannel(broker, AUDIT_CHANNEL, complete, { sender: opts.sender, messageId: complete.id });
}

interface AuditNode {
	broker: ServiceBroker;
	config: AppConfig;
	ring: KeyRing;
	buried: unknown[];
	stop(): Promise<void>;
}

async function startAuditNode(env: Record<string, string> = {}, opts: { gateway?: boolean } = {}): Promise<AuditNode> {
	const dataDir = prepareDataDir();
	// Refused facts and broken chains are logged as errors on purpose here; TEST_LOG_LEVEL shows them.
	const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "fatal", DATA_DIR: dataDir, NAMESPACE: `audit-${shortId()}`, ...env });
	// The development key file: what the REPL's operator tokens are signed with, as on a real node.
	const ring = await loadSigningKeys(config.auth, dataDir);
	const buried: unknown[] = [];
	// The node `npm start` builds, with only the audit service (and the gateway when asked); channels
	// retry and poll fast, so a refused fact reaches the dead-letter channel within the test.
	const broker = createNode(
		{ ...config, services: opts.gateway ? ["audit", "api"] : ["audit"] },
		{ nodeID: `audit-test-${shortId()}`, registry: { stopDelay: 0 } },
		{ channelAdapterOptions: { retryDelayMs: 20, maxRetryDelayMs: 100, pollIntervalMs: 50 } },
	);
	broker.createService({
		name: "auth",
		actions: { publicKeys: { access: "public", handler: () => ({ keys: publicKeysOf(ring) }) } as never },
	});
	const morgue: ServiceSchema = {
		name: "morgue",
		channels: {
			[DEAD_LETTER_CHANNEL]: {
				group: "morgue",
				handler(ctx: Context<unknown>) {
					buried.push(ctx.params);
				},
			},
		},
	};
	broker.createService(morgue);
	await broker.start();
	return {
		broker,
		config,
		ring,
		buried,
		stop: async () => {
			await broker.stop();
			fs.rmSync(dataDir, { recursive: true, force: true });
		},
	};
}

function tokenFor(node: AuditNode, roles: string[]): Promise<string> {
	const { issuer, audience, accessTtlSeconds } = node.config.auth;
	return signAccessToken(node.ring, { sub: randomUUID(), roles, partners: {}, sid: randomUUID() }, { issuer, audience, accessTtlSeconds });
}

describe("audit service", () => {
	let node: AuditNode;
	let admin: { meta: { accessToken: string } };
	let player: { meta: { accessToken: string } };

	beforeAll(async () => {
		node = await startAuditNode();
		admin = { meta: { accessToken: await tokenFor(node, ["player", "admin"]) } };
		player = { meta: { accessToken: await tokenFor(node, ["player"]) } };
	});
	afterAll(() => node?.stop());

	const call = <T>(action: string, params: Record<string, unknown> = {}, opts = admin) => node.broker.call<T, Record<string, unknown>>(action, params, opts);
	const allEntries = async () => (await call<{ entries: AuditEntry[] }>("audit.tail", { afterSeq: 0, limit: 500 })).entries;
	const db = (): Promise<SqlClient> => nodeBackends(node.broker).database("audit");
	/** Waits until every id is in the log; returns the entries in log order. */
	const arrived = (ids: string[]) =>
		eventually(
			async () => {
				const entries = await allEntries();
				const wanted = entries.filter(e => ids.includes(e.id));
				if (wanted.length < ids.length) throw new Error(`${wanted.length}/${ids.length} facts recorded`);
				return wanted;
			},
			{ timeoutMs: 20_000 },
		);
	/** The fact id a send produced, read back from the log by its unique action. */
	const record = async (action: string, extra: Record<string, unknown> = {}) => {
		await sendFact(node.broker, { action, actor: { type: "user", id: "alice" }, ...extra }, { sender: AS_PRODUCER });
		return action;
	};

	it("records facts in the order they were sent, each chained to the previous one", async () => {
		const run = shortId();
		const actions = [1, 2, 3, 4, 5].map(n => `ordered_${run}.step${n}`);
		for (const action of actions) await record(action, { subject: { type: "user", id: "bob" }, data: { n: action.slice(-1) } });
		const entries = await eventually(
			async () => {
				const found = (await allEntries()).filter(e => e.action.startsWith(`ordered_${run}.`));
				if (found.length < 5) throw new Error(`${found.length}/5 recorded`);
				return found;
			},
			{ timeoutMs: 20_000 },
		);
		expect(entries.map(e => e.action)).toEqual(actions);
		for (let i = 1; i < entries.length; i++) {
			expect(entries[i].seq).toBe(entries[i - 1].seq + 1);
			expect(entries[i].prevHash).toBe(entries[i - 1].hash);
		}
		expect(entries[0]).toMatchObject({ actor: { type: "user", id: "alice" }, subject: { type: "user", id: "bob" }, data: { n: "1" } });
		expect(await call<AuditVerifyResult>("audit.verify")).toMatchObject({ ok: true });
	});

	it("records a redelivered fact once", async () => {
		const key = `login:${shortId()}`;
		await sendFact(node.broker, { action: "auth.login.succeeded", actor: { type: "user", id: "carol" } }, { sender: AS_PRODUCER, idempotencyKey: key });
		await sendFact(node.broker, { action: "auth.login.succeeded", actor: { type: "user", id: "carol" } }, { sender: AS_PRODUCER, idempotencyKey: key });
		const fact = { id: randomUUID(), at: new Date().toISOString(), action: "auth.logout", actor: { type: "user", id: "carol" } };
		await sendToChannel(node.broker, AUDIT_CHANNEL, fact, { sender: AS_PRODUCER });
		await sendToChannel(node.broker, AUDIT_CHANNEL, { ...fact }, { sender: AS_PRODUCER });
		// A marker sent last: the channel delivers in order to the one consumer, so once it is in the
		// log every copy before it has been handled.
		const marker = { ...fact, id: randomUUID(), action: "auth.login.failed" };
		await sendToChannel(node.broker, AUDIT_CHANNEL, marker, { sender: AS_PRODUCER });
		await arrived([marker.id]);
		const carol = (await allEntries()).filter(e => e.actor.id === "carol");
		expect(carol.map(e => e.action)).toEqual(["auth.login.succeeded", "auth.logout", "auth.login.failed"]);
		expect(new Set(carol.map(e => e.id)).size).toBe(3);
	});

	it("keeps one valid chain under 50 concurrent sends", async () => {
		const before = (await allEntries()).length;
		const run = shortId();
		await Promise.all(Array.from({ length: 50 }, (_, i) => sendFact(node.broker, { action: `burst_${run}.n${i}`, actor: { type: "service", id: "load" } }, { sender: AS_PRODUCER })));
		const entries = await eventually(
			async () => {
				const all = await allEntries();
				if (all.length < before + 50) throw new Error(`${all.length - before}/50 recorded`);
				return all;
			},
			{ timeoutMs: 30_000 },
		);
		const burst = entries.filter(e => e.action.startsWith(`burst_${run}.`));
		expect(new Set(burst.map(e => e.action)).size).toBe(50);
		expect(entries.map(e => e.seq)).toEqual(Array.from({ length: entries.length }, (_, i) => i + 1));
		expect(await call<AuditVerifyResult>("audit.verify")).toEqual({ ok: true, checked: entries.length, head: { seq: entries.length, hash: entries[entries.length - 1].hash } });
	});

	it("drops facts that are unsigned, signed with another key, altered, or signed for a service not allowed to record them", async () => {
		const before = (await allEntries()).length;
		// The library's own send, past our signing: what anyone with access to the message backend can do.
		const rawSend = (payload: unknown, headers?: Record<string, string>) =>
			(node.broker as unknown as { sendToChannel(c: string, p: unknown, o: object): Promise<void> }).sendToChannel(AUDIT_CHANNEL, payload, { headers });
		const forged = (action: string) => ({ id: randomUUID(), at: new Date().toISOString(), action, actor: { type: "operator", id: "mallory" } });
		const warnings = jest.spyOn(node.broker.getLogger("CHANNEL-SECURITY"), "warn");
		const rogueRing = { current: await generateSigningKey(), previous: [] };
		const genuine = forged("partners.verified");
		await rawSend(forged("authority.granted"));
		const foreignKey = forged("users.deleted");
		await rawSend(foreignKey, { [SIGNATURE_HEADER]: await signMessage(rogueRing, AUDIT_CHANNEL, "auth", foreignKey) });
		await rawSend({ ...genuine, actor: { type: "operator", id: "mallory" }, action: "partners.suspended" }, { [SIGNATURE_HEADER]: await signMessage(node.ring, AUDIT_CHANNEL, "partners", genuine) });
		// The system service runs on every node but records no facts.
		const notAllowed = forged("hunts.published");
		await rawSend(notAllowed, { [SIGNATURE_HEADER]: await signMessage(node.ring, AUDIT_CHANNEL, "system", notAllowed) });
		// A genuine fact sent last is recorded: everything before it has been handled.
		const next = await record(`after_forgeries_${shortId()}.ok`);
		await eventually(async () => {
			if (!(await allEntries()).some(e => e.action === next)) throw new Error("the genuine fact is not recorded yet");
		});
		expect(await allEntries()).toHaveLength(before + 1);
		expect(warnings.mock.calls.map(args => String(args[0]).replace(/^Dropped a message on '[^']+': /, ""))).toEqual(["unsigned", "payload changed", "sender not allowed"]);
		// A key this node does not know may be a rotation it has not seen yet: retried, then dead-lettered
		// for an operator to look at, never recorded and never silently lost.
		await eventually(
			async () => {
				if (!node.buried.some(p => (p as { id?: string }).id === foreignKey.id)) throw new Error("not dead-lettered yet");
			},
			{ timeoutMs: 20_000 },
		);
		expect((await allEntries()).some(e => e.id === foreignKey.id)).toBe(false);
		warnings.mockRestore();
		expect(await call<AuditVerifyResult>("audit.verify")).toMatchObject({ ok: true });
	});

	it("dead-letters a malformed fact instead of recording it, and keeps recording the next ones", async () => {
		const before = (await allEntries()).length;
		const bad = { id: "not-a-uuid", action: "Shouting", actor: { type: "robot" }, marker: shortId() };
		await sendToChannel(node.broker, AUDIT_CHANNEL, bad, { sender: AS_PRODUCER });
		const next = await record(`after_bad_${shortId()}.ok`);
		await eventually(
			async () => {
				if (!node.buried.some(p => (p as { marker?: string }).marker === bad.marker)) throw new Error("not dead-lettered yet");
			},
			{ timeoutMs: 20_000 },
		);
		const entries = await allEntries();
		expect(entries.filter(e => e.action === next)).toHaveLength(1);
		expect(entries).toHaveLength(before + 1);
		expect(await call<AuditVerifyResult>("audit.verify")).toMatchObject({ ok: true });
	});

	it("searches by actor, action (exact or prefix), subject and time, newest first, with paging", async () => {
		const run = shortId();
		const dave = `dave-${run}`;
		const t0 = Date.parse("2030-01-01T00:00:00Z");
		const at = (minute: number) => new Date(t0 + minute * 60_000).toISOString();
		await record(`search_${run}.opened`, { actor: { type: "user", id: dave }, subject: { type: "hunt", id: `hunt-${run}` }, at: at(1) });
		await record(`search_${run}.closed`, { actor: { type: "user", id: dave }, at: at(2) });
		await record(`search_${run}.opened`, { actor: { type: "user", id: `erin-${run}` }, subject: { type: "hunt", id: `hunt-${run}` }, at: at(3) });
		const ids = (
			await eventually(async () => {
				const found = (await allEntries()).filter(e => e.action.startsWith(`search_${run}.`));
				if (found.length < 3) throw new Error("not yet");
				return found;
			})
		).map(e => e.seq);

		// Query strings arrive as strings: numbers are converted.
		const byActor = await call<AuditSearchResult>("audit.search", { actor: dave, limit: "1" });
		expect(byActor.entries.map(e => e.seq)).toEqual([ids[1]]);
		expect(byActor.nextBefore).toBe(ids[1]);
		const nextPage = await call<AuditSearchResult>("audit.search", { actor: dave, limit: "1", before: String(byActor.nextBefore) });
		expect(nextPage.entries.map(e => e.seq)).toEqual([ids[0]]);
		expect(nextPage.nextBefore).toBeUndefined();

		expect((await call<AuditSearchResult>("audit.search", { action: `search_${run}.opened` })).entries.map(e => e.seq)).toEqual([ids[2], ids[0]]);
		expect((await call<AuditSearchResult>("audit.search", { action: `search_${run}.` })).entries.map(e => e.seq)).toEqual([ids[2], ids[1], ids[0]]);
		expect((await call<AuditSearchResult>("audit.search", { subject: `hunt-${run}` })).entries.map(e => e.seq)).toEqual([ids[2], ids[0]]);
		expect((await call<AuditSearchResult>("audit.search", { from: at(2), to: at(3) })).entries.map(e => e.seq)).toEqual([ids[1]]);
		expect((await call<AuditSearchResult>("audit.search", { from: "2030-01-01", action: `search_${run}.`, actor: `erin-${run}` })).entries.map(e => e.seq)).toEqual([ids[2]]);
	});

	it("refuses bad search parameters with 422", async () => {
		await expect(call("audit.search", { from: "yesterday" })).rejects.toMatchObject({ code: 422 });
		await expect(call("audit.search", { from: "2024-13-45" })).rejects.toMatchObject({ code: 422 });
		await expect(call("audit.search", { limit: "201" })).rejects.toMatchObject({ code: 422 });
		await expect(call("audit.search", { limit: "0" })).rejects.toMatchObject({ code: 422 });
	});

	it("answers admins only: 403 for a player, 401 without a token", async () => {
		for (const action of ["audit.search", "audit.verify", "audit.tail"]) {
			await expect(call(action, {}, player)).rejects.toMatchObject({ code: 403, type: "FORBIDDEN" });
			await expect(node.broker.call(action, {}, { meta: {} })).rejects.toMatchObject({ code: 401, type: "UNAUTHENTICATED" });
		}
	});

	it("declares the REST routes admins use", () => {
		const actions = (node.broker.getLocalService("audit") as unknown as { schema: { settings: { rest: string }; actions: Record<string, { rest?: string; openapi?: unknown }> } }).schema;
		expect(actions.settings.rest).toBe("/");
		expect(actions.actions.search.rest).toBe("GET /admin/audit");
		expect(actions.actions.verify.rest).toBe("GET /admin/audit/verify");
		expect(actions.actions.tail.rest).toBeUndefined();
		expect(actions.actions.search.openapi).toMatchObject({ security: "bearer" });
	});

	it("gives operators audit-verify and audit-follow in the REPL", async () => {
		expect(auditReplCommands.map(c => c.command)).toEqual(["audit-verify", "audit-follow"]);
		const verified: string[] = [];
		expect(await verifyAudit(node.broker, line => verified.push(line))).toMatchObject({ ok: true });
		expect(verified[0]).toMatch(/^Audit chain intact: \d+ entries, head #\d+ [0-9a-f]{64}$/);

		const printed: string[] = [];
		const controller = new AbortController();
		const run = shortId();
		const following = followAudit(node.broker, line => printed.push(line), { count: 2, signal: controller.signal, pollIntervalMs: 50 });
		await eventually(async () => expect(printed).toHaveLength(2));
		await record(`follow_${run}.seen`);
		await eventually(async () => expect(printed.some(line => line.includes(`follow_${run}.seen by user:alice`))).toBe(true), { timeoutMs: 20_000 });
		controller.abort();
		const lastSeq = await following;
		const head = (await allEntries()).at(-1)!;
		expect(lastSeq).toBe(head.seq);
		expect(printed.at(-1)).toMatch(new RegExp(`^#${head.seq} `));

		// --seconds stops it on its own.
		const started = Date.now();
		await followAudit(node.broker, () => undefined, { count: 0, seconds: 0.3, pollIntervalMs: 50 });
		expect(Date.now() - started).toBeLessThan(5_000);
	});

	// Last: it leaves the chain as it found it, but the other tests must not run against a broken one.
	it("finds a row altered directly in SQL: verify names exactly that seq", async () => {
		const entries = await allEntries();
		const victim = entries[Math.floor(entries.length / 2)];
		const client = await db();
		const tamper = async (data: unknown) => {
			// The owner of the database can switch the append-only trigger off; nothing else can.
			await client.exec(`alter table "audit".entries disable trigger user`);
			try {
				await client.query(`update "audit".entries set data = $1::text::jsonb where seq = $2`, [JSON.stringify(data), victim.seq]);
			} finally {
				await client.exec(`alter table "audit".entries enable trigger user`);
			}
		};
		await expect(client.query(`update "audit".entries set data = '{}'::jsonb where seq = $1`, [victim.seq])).rejects.toThrow(/append-only/);

		await tamper({ ...(victim.data ?? {}), forged: true });
		expect(await call<AuditVerifyResult>("audit.verify")).toEqual({ ok: false, checked: victim.seq, firstBroken: { seq: victim.seq, reason: "hash_mismatch" }, lastGood: victim.seq - 1 });
		const printed: string[] = [];
		await verifyAudit(node.broker, line => printed.push(line));
		expect(printed[0]).toContain(`AUDIT CHAIN BROKEN at #${victim.seq}`);
		expect(printed.at(-1)).toContain('"forged":true');

		await tamper(victim.data ?? null);
		expect(await call<AuditVerifyResult>("audit.verify")).toMatchObject({ ok: true, checked: entries.length });
	});

	it("refuses half an anchor with 422 rather than verifying without it", async () => {
		expect(await rejectionOf(call("audit.verify", { anchorSeq: 1 }))).toMatchObject({ code: 422, type: "VALIDATION_FAILED", data: [expect.objectContaining({ field: "anchorHash" })] });
		expect(await rejectionOf(call("audit.verify", { anchorHash: "a".repeat(64) }))).toMatchObject({ code: 422, data: [expect.objectContaining({ field: "anchorSeq" })] });
	});

	it("catches a newest entry rewritten with its hash recomputed, given an anchor kept outside the database", async () => {
		const entries = await allEntries();
		const last = entries.at(-1)!;
		const anchor = { anchorSeq: last.seq, anchorHash: last.hash };
		expect(await call<AuditVerifyResult>("audit.verify", anchor)).toMatchObject({ ok: true });
		// Someone with the owner's rights rewrites the entry and makes the hashes agree again.
		const forged = { ...last, data: { ...(last.data ?? {}), rewritten: true } };
		const forgedHash = entryHash(last.prevHash, contentOf(forged));
		const client = await db();
		await client.exec(`alter table "audit".entries disable trigger user`);
		try {
			await client.query(`update "audit".entries set data = $1::text::jsonb, hash = $2 where seq = $3`, [JSON.stringify(forged.data), forgedHash, last.seq]);
			await client.query(`update "audit".head set hash = $1`, [forgedHash]);
		} finally {
			await client.exec(`alter table "audit".entries enable trigger user`);
		}
		// The chain alone cannot tell…
		expect(await call<AuditVerifyResult>("audit.verify")).toMatchObject({ ok: true });
		// …the anchor can, in the service and in the REPL (`--anchor seq:hash`, as the service logs heads).
		expect(await call<AuditVerifyResult>("audit.verify", anchor)).toMatchObject({ ok: false, firstBroken: { seq: last.seq, reason: "anchor_mismatch" } });
		const printed: string[] = [];
		await verifyAudit(node.broker, line => printed.push(line), parseAnchor(`${last.seq}:${last.hash}`));
		expect(printed[0]).toContain(`AUDIT CHAIN BROKEN at #${last.seq}`);
		expect(() => parseAnchor("12:nothex")).toThrow(/--anchor/);
	});
});

describe("audit REST routes through the gateway", () => {
	let node: AuditNode;
	let baseUrl: string;
	beforeAll(async () => {
		const port = await freePort();
		node = await startAuditNode({ HOST: "127.0.0.1", PORT: String(port) }, { gateway: true });
		baseUrl = `http://127.0.0.1:${port}`;
	});
	afterAll(() => node?.stop());

	const get = (path: string, token?: string) => fetch(`${baseUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

	it("serves GET /api/admin/audit and GET /api/admin/audit/verify to admins only", async () => {
		const action = `rest_${shortId()}.done`;
		await sendFact(node.broker, { action, actor: { type: "user", id: "gina" } }, { sender: AS_PRODUCER });
		const adminToken = await tokenFor(node, ["player", "admin"]);
		const found = await eventually(
			async () => {
				const res = await get(`/api/admin/audit?action=${action}&limit=5`, adminToken);
				expect(res.status).toBe(200);
				const body = (await res.json()) as AuditSearchResult;
				expect(body.entries).toHaveLength(1);
				return body.entries[0];
			},
			{ timeoutMs: 20_000 },
		);
		expect(found).toMatchObject({ seq: 1, action, actor: { type: "user", id: "gina" } });

		const verify = await get("/api/admin/audit/verify", adminToken);
		expect(verify.status).toBe(200);
		expect(await verify.json()).toEqual({ ok: true, checked: 1, head: { seq: 1, hash: found.hash } });

		const playerToken = await tokenFor(node, ["player"]);
		for (const path of ["/api/admin/audit", "/api/admin/audit/verify"]) {
			expect((await get(path, playerToken)).status).toBe(403);
			expect((await get(path)).status).toBe(401);
		}
		expect((await get("/api/admin/audit?limit=500", adminToken)).status).toBe(422);
	});

	it("documents both routes in the OpenAPI document", async () => {
		const doc = (await (await get("/api/openapi.json")).json()) as { paths: Record<string, Record<string, { security?: unknown }>> };
		expect(doc.paths["/api/admin/audit"]?.get).toBeDefined();
		expect(doc.paths["/api/admin/audit/verify"]?.get).toBeDefined();
	});
});

describeWithBackend("opensearch", "audit service with OpenSearch", os => {
	let node: AuditNode;
	beforeAll(async () => {
		node = await startAuditNode({ OPENSEARCH_URL: os.url });
	});
	afterAll(async () => {
		const index = new OpenSearchAuditIndex({ url: os.url, namespace: node.config.namespace });
		await index.drop().catch(() => undefined);
		await index.close();
		await node?.stop();
	});

	it("indexes appended entries into OpenSearch and searches there", async () => {
		const accessToken = await tokenFor(node, ["admin"]);
		const action = `indexed_${shortId()}.fact`;
		await sendFact(node.broker, { action, actor: { type: "user", id: "frank" } }, { sender: AS_PRODUCER });
		const index = new OpenSearchAuditIndex({ url: os.url, namespace: node.config.namespace });
		try {
			const [indexed] = await eventually(
				async () => {
					await index.refresh();
					const { entries } = await index.search({ action });
					if (!entries.length) throw new Error("not indexed yet");
					return entries;
				},
				{ timeoutMs: 20_000 },
			);
			const viaService = await node.broker.call<AuditSearchResult, Record<string, unknown>>("audit.search", { action }, { meta: { accessToken } });
			expect(viaService.entries).toEqual([indexed]);
		} finally {
			await index.close();
		}
	});
});

describeWithBackend("opensearch", "audit service when OpenSearch stops and comes back", () => {
	// A server of its own, on free ports and in a folder of this run: stopping the shared one would
	// fail suites running meanwhile, here or in another run on the same machine.
	let server: BackendServer;
	let node: AuditNode;
	beforeAll(async () => {
		const httpPort = await freePort();
		let transportPort = await freePort();
		while (transportPort === httpPort) transportPort = await freePort();
		server = opensearchServer(`opensearch-restart-${shortId()}`, httpPort, transportPort);
		if (!(await bringUp([server], true))) throw new Error(`OpenSearch for the restart test did not start; see ${server.logFile}`);
		node = await startAuditNode({ OPENSEARCH_URL: server.url });
	}, 180_000);
	afterAll(async () => {
		await node?.stop();
		if (!server) return;
		await bringDown([server], true);
		fs.rmSync(path.join(BACKENDS_DIR, server.name), { recursive: true, force: true });
		fs.rmSync(server.logFile, { force: true });
	});

	it("answers from SQL meanwhile and catches the index up from the SQL log once the server is back", async () => {
		const accessToken = await tokenFor(node, ["admin"]);
		const prefix = `restart_${shortId()}.`;
		const actor = { type: "user" as const, id: "grace" };
		const index = new OpenSearchAuditIndex({ url: server.url, namespace: node.config.namespace });
		const searchService = () => node.broker.call<AuditSearchResult, Record<string, unknown>>("audit.search", { action: prefix }, { meta: { accessToken } });
		try {
			await sendFact(node.broker, { action: `${prefix}before`, actor }, { sender: AS_PRODUCER });
			await eventually(
				async () => {
					await index.refresh();
					if ((await index.search({ action: prefix })).entries.length !== 1) throw new Error("not indexed yet");
				},
				{ timeoutMs: 20_000 },
			);

			await bringDown([server], true);
			for (const step of ["during1", "during2", "during3"]) await sendFact(node.broker, { action: `${prefix}${step}`, actor }, { sender: AS_PRODUCER });
			const fromSql = await eventually(
				async () => {
					const result = await searchService();
					if (result.entries.length !== 4) throw new Error(`${result.entries.length}/4 recorded`);
					return result.entries;
				},
				{ timeoutMs: 20_000 },
			);
			expect(fromSql.map(entry => entry.action)).toEqual(["during3", "during2", "during1", "before"].map(step => `${prefix}${step}`));

			expect(await bringUp([server], true)).toBe(true);
			// What the service's timer does every 30 s, without waiting for it.
			await (node.broker.getLocalService("audit") as unknown as { mirror: { catchUp(): Promise<void> } }).mirror.catchUp();
			await index.refresh();
			expect((await index.search({ action: prefix })).entries).toEqual(fromSql);
			expect((await searchService()).entries).toEqual(fromSql);
		} finally {
			await index.close();
		}
	}, 240_000);
});
