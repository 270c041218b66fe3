/**
 * What the outbox costs, on PGlite and PostgreSQL, each against a baseline in the same run:
 * - commit: a transaction that changes a row, alone (baseline) and with one outbox message written
 *   in it, sequentially; the extra microseconds per change are the outbox's price on the request path;
 * - relay: N messages published with sendToChannel one after the other (baseline: how a service sent
 *   before the outbox), against the relay draining the same N from the outbox through the same
 *   sendToChannel (claim, send, delete per message); the ratio is relay / direct.
 * Channels are the embedded SQL log on the same database, as `npm start` runs.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { ServiceBroker } from "moleculer";
import { createChannelsMiddleware, sendToChannel, type ChannelsOptions } from "../platform/channels";
import { Outbox } from "../platform/outbox/outbox";
import { OutboxRelay } from "../platform/outbox/relay";
import { PLATFORM_MIGRATION_TRACK, PLATFORM_MIGRATIONS } from "../platform/outbox/tables";
import { acquireDatabase, runMigrations, type DatabaseTarget } from "../platform/sql";
import { probeBackend } from "../test/backends/probes";

/** Channels of its own, not the contracts'. */
type TestChannels = Record<string, unknown>;

export interface OutboxBenchResult {
	database: string;
	commits: number;
	commitP50Us: { baseline: number; withOutbox: number };
	commitP99Us: { baseline: number; withOutbox: number };
	extraMicrosPerChange: number;
	messages: number;
	directSendsPerSecond: number;
	relayedPerSecond: number;
	ratioRelayToDirect: number;
	skipped?: string;
}

const PG_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function timeCommits(schema: string, commits: number, withOutbox: boolean, outbox: Outbox<TestChannels>): Promise<number[]> {
	const times: number[] = [];
	for (let i = 0; i < commits; i++) {
		const started = performance.now();
		await outbox.transaction(async (messages, tx) => {
			await tx.query(`update "${schema}".bench_state set counter = counter + 1 where id = 1`);
			if (withOutbox) await messages.add("bench.changes", { id: i, at: new Date().toISOString(), kind: "partners.created" });
		});
		times.push((performance.now() - started) * 1000);
	}
	return times.sort((a, b) => a - b);
}

async function runOne(name: string, target: DatabaseTarget, commits: number, messages: number): Promise<OutboxBenchResult> {
	const schema = `bench_outbox_${randomUUID().replace(/-/g, "").slice(0, 10)}`;
	const lease = await acquireDatabase(target);
	const db = lease.client;
	const channels: ChannelsOptions = { url: "embedded://", database: target, schema: `${schema}_channels` };
	const broker = new ServiceBroker({ nodeID: `bench-${randomUUID().slice(0, 8)}`, namespace: schema, transporter: null, logger: false, middlewares: [createChannelsMiddleware(channels)] });
	try {
		await runMigrations(db, schema, PLATFORM_MIGRATIONS, PLATFORM_MIGRATION_TRACK);
		await db.query(`create table "${schema}".bench_state (id int primary key, counter bigint not null)`);
		await db.query(`insert into "${schema}".bench_state values (1, 0)`);
		const outbox = new Outbox<TestChannels>(db, schema);
		// Warm-up, then alternate so neither side gets the warmer half of the run.
		await timeCommits(schema, 200, true, outbox);
		const baseline: number[] = [];
		const withOutbox: number[] = [];
		for (let round = 0; round < 4; round++) {
			baseline.push(...(await timeCommits(schema, commits / 4, false, outbox)));
			withOutbox.push(...(await timeCommits(schema, commits / 4, true, outbox)));
		}
		baseline.sort((a, b) => a - b);
		withOutbox.sort((a, b) => a - b);
		await db.query(`delete from "${schema}".outbox`);

		await broker.start();
		const payload = (i: number) => ({ id: i, lat: 48.8566, lon: 2.3522, kind: "partners.created" });
		let started = performance.now();
		for (let i = 0; i < messages; i++) await sendToChannel(broker, "bench.direct", payload(i));
		const directSeconds = (performance.now() - started) / 1000;

		for (let i = 0; i < messages; i += 500) {
			await outbox.transaction(async writer => {
				for (let j = i; j < Math.min(messages, i + 500); j++) await writer.add("bench.relayed", payload(j));
			});
		}
		const relay = new OutboxRelay(outbox, message => sendToChannel(broker, message.channel, message.payload, { messageId: message.id }), { batchSize: 100 });
		started = performance.now();
		let sent = 0;
		while (sent < messages) sent += (await relay.runOnce()).sent;
		const relaySeconds = (performance.now() - started) / 1000;

		const direct = Math.round(messages / directSeconds);
		const relayed = Math.round(messages / relaySeconds);
		const p = (sorted: number[], q: number) => Math.round(percentile(sorted, q));
		return {
			database: name,
			commits,
			commitP50Us: { baseline: p(baseline, 50), withOutbox: p(withOutbox, 50) },
			commitP99Us: { baseline: p(baseline, 99), withOutbox: p(withOutbox, 99) },
			extraMicrosPerChange: p(withOutbox, 50) - p(baseline, 50),
			messages,
			directSendsPerSecond: direct,
			relayedPerSecond: relayed,
			ratioRelayToDirect: Math.round((relayed / direct) * 100) / 100,
		};
	} finally {
		await broker.stop().catch(() => undefined);
		await db.query(`drop schema if exists "${schema}" cascade`).catch(() => undefined);
		await db.query(`drop schema if exists "${schema}_channels" cascade`).catch(() => undefined);
		await lease.release();
	}
}

export async function benchOutbox(opts: { commits?: number; messages?: number } = {}): Promise<OutboxBenchResult[]> {
	const commits = opts.commits ?? 2000;
	const messages = opts.messages ?? 2000;
	const pgliteDir = fs.mkdtempSync(path.join(os.tmpdir(), "lootopia-bench-outbox-"));
	const results: OutboxBenchResult[] = [];
	try {
		results.push(await runOne("PGlite", { dataDir: pgliteDir }, commits, messages));
		const reason = await probeBackend("postgres", PG_URL);
		if (reason) results.push({ database: "PostgreSQL", skipped: reason } as OutboxBenchResult);
		else results.push(await runOne("PostgreSQL", { url: PG_URL, poolSize: 4 }, commits, messages));
	} finally {
		fs.rmSync(pgliteDir, { recursive: true, force: true });
	}
	return results;
}
