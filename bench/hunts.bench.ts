/**
 * Finding hunts, with 100,000 published hunts indexed, on the in-memory geo index and on Redis GEO:
 * - geo.nearby as a direct action, and the whole search (hunts.search: geo, then the public views);
 * - GET /api/hunts?lat&lon&radius through the gateway (random points, so the cache does not answer
 *   everything), against the gateway's trivial action (GET /api/ping) on the same node, in alternating
 *   rounds: the ratio is what the issue's aim (≥ 0.7) is about;
 * - a text + geo search on PostgreSQL, and on OpenSearch (when reachable);
 * - publishing a hunt of 200 clues (validation, zones, graph) on each clue-graph engine;
 * - the public-view cache's hit rate over a run of repeated views.
 */
import fs from "node:fs";
import { randomUUID } from "node:crypto";
import autocannon from "autocannon";
import type { ServiceBroker } from "moleculer";
import { loadConfig } from "../platform/config/env";
import { createNode } from "../platform/runtime/broker";
import { nodeBackends } from "../platform/runtime/node-backends";
import { callAsService } from "../platform/moleculer/service-identity";
import { acquireDatabase, runMigrations, type SqlClient } from "../platform/sql";
import { PLATFORM_MIGRATION_TRACK, PLATFORM_MIGRATIONS } from "../platform/outbox/tables";
import { Outbox } from "../platform/outbox/outbox";
import { HuntFlows } from "../domain/hunts/hunt-flows";
import { HuntStore, HUNTS_MIGRATIONS } from "../domain/hunts/hunt-store";
import { OpenSearchHuntIndex } from "../domain/hunts/hunt-text-index";
import { HuntTextMirror } from "../domain/hunts/hunt-text-mirror";
import { SqlClueGraph } from "../domain/hunts/clue-graph/sql-clue-graph";
import { Neo4jClueGraph } from "../domain/hunts/clue-graph/neo4j-clue-graph";
import type { ClueGraph } from "../domain/hunts/clue-graph/clue-graph";
import { probeBackend } from "../test/backends/probes";
import { freePort, median, tempDataDir } from "./support";

const HUNTS = Number(process.env.BENCH_HUNTS ?? 100_000);
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const PG_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const NEO4J_URL = process.env.TEST_NEO4J_URL ?? "bolt://127.0.0.1:7687";
const OPENSEARCH_URL = process.env.TEST_OPENSEARCH_URL ?? "http://127.0.0.1:9200";
const AREA = { lat: 48.6, lon: 2.0, latSpan: 0.6, lonSpan: 0.7 };
const WORDS = ["castle", "river", "museum", "garden", "market", "tower", "bridge", "chapel"];

interface Latency {
	perSecond: number;
	p50Ms: number;
	p99Ms: number;
}

export interface HuntsBenchResult {
	hunts: number;
	stores: Array<{
		store: string;
		skipped?: string;
		nearbyAction?: Latency;
		searchAction?: Latency;
		/** searchViewHitRate: the share of the searches' public views the cache answered (random points over every hunt: its worst case). */
		gateway?: { search: Latency; ping: Latency; ratio: number; connections: number; searchViewHitRate: number };
		/** The same through the gateway, the points within a kilometre of one spot: a working set the view cache holds. */
		aroundOneSquare?: { search: Latency; ping: Latency; ratio: number };
		cacheHitRate?: number;
	}>;
	textAndGeoOnPostgres?: Latency & { skipped?: string };
	textAndGeoOnOpenSearch?: Latency & { skipped?: string };
	publish200Clues: Array<{ engine: string; medianMs?: number; skipped?: string }>;
}

const point = () => ({ lat: AREA.lat + Math.random() * AREA.latSpan, lon: AREA.lon + Math.random() * AREA.lonSpan });

function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function timed(count: number, work: () => Promise<unknown>): Promise<Latency> {
	const samples: number[] = [];
	const started = performance.now();
	for (let i = 0; i < count; i++) {
		const t = performance.now();
		await work();
		samples.push(performance.now() - t);
	}
	const elapsed = performance.now() - started;
	samples.sort((a, b) => a - b);
	const round = (ms: number) => Math.round(ms * 100) / 100;
	return { perSecond: Math.round((count / elapsed) * 1000), p50Ms: round(percentile(samples, 50)), p99Ms: round(percentile(samples, 99)) };
}

/** 100,000 published public hunts straight into the hunts schema, and into the geo index. */
async function seed(broker: ServiceBroker, count: number): Promise<void> {
	const db = (broker.getLocalService("hunts") as unknown as { database: { db: SqlClient } }).database.db;
	const partner = randomUUID();
	await db.query(
		`insert into hunts.hunts (id, partner_id, partner_name, title, description, tags, area_lat, area_lon, area_radius_m, starts_at, ends_at, visibility, zone_radius_m, status, created_by, published_at)
		select gen_random_uuid(), $1, 'Bench', 'Hunt ' || i || ' ' || (array[${WORDS.map(w => `'${w}'`).join(",")}])[1 + i % ${WORDS.length}], 'A hunt to find', '["bench"]',
			$2 + random() * $3, $4 + random() * $5, 1000, now() - interval '1 day', now() + interval '30 days', 'public', 150, 'published', $1, now()
		from generate_series(1, $6::int) i`,
		[partner, AREA.lat, AREA.latSpan, AREA.lon, AREA.lonSpan, count],
	);
	const { rows } = await db.query<{ id: string; area_lat: number; area_lon: number }>(`select id, area_lat, area_lon from hunts.hunts where partner_id = $1`, [partner]);
	// As autovacuum would on PostgreSQL; PGlite never analyzes by itself (the hourly housekeeping does).
	await db.query("analyze hunts.hunts");
	const store = nodeBackends(broker).keyValueStore();
	for (let i = 0; i < rows.length; i += 1000) {
		await Promise.all(rows.slice(i, i + 1000).map(row => store.geoAdd("geo:hunts", row.id, { lat: row.area_lat, lon: row.area_lon })));
	}
}

/** The geo service done rebuilding its index at start: measuring while it pages through the hunts would measure that. */
async function rebuilt(broker: ServiceBroker): Promise<void> {
	const geo = broker.getLocalService("geo") as unknown as { rebuilt?: Promise<void> };
	while (!geo.rebuilt) await new Promise(resolve => setTimeout(resolve, 10));
	await geo.rebuilt;
}

async function load(url: string | (() => string), connections: number, duration: number): Promise<Latency> {
	const base = typeof url === "string" ? url : url();
	const path = typeof url === "string" ? undefined : url;
	const result = await autocannon({
		url: base,
		connections,
		duration,
		...(path ? { requests: [{ setupRequest: request => ({ ...request, path: new URL(path()).pathname + new URL(path()).search }) }] } : {}),
	});
	if (result.non2xx > 0 || result.errors > 0) throw new Error(`${base}: ${result.non2xx} non-2xx, ${result.errors} errors`);
	return { perSecond: Math.round(result.requests.average), p50Ms: result.latency.p50, p99Ms: result.latency.p99 };
}

async function runStore(store: string, env: Record<string, string>, durationSeconds: number): Promise<HuntsBenchResult["stores"][number]> {
	const dataDir = tempDataDir();
	const port = await freePort();
	const config = loadConfig({
		NODE_ENV: "test",
		LOG_LEVEL: "warn",
		HOST: "127.0.0.1",
		PORT: String(port),
		DATA_DIR: dataDir,
		RATE_LIMIT_PER_MINUTE: "0",
		NAMESPACE: `bench${randomUUID().slice(0, 6)}`,
		...env,
	});
	const broker = createNode(config, { skipProcessEventRegistration: true });
	await broker.start();
	try {
		await rebuilt(broker);
		await seed(broker, HUNTS);
		const nearbyAction = await timed(2000, () => callAsService(broker, "hunts", "geo.nearby", { ...point(), radiusM: 3000, limit: 20 }));
		const searchAction = await timed(500, () => broker.call("hunts.search", { ...point(), radius: 3000, limit: 20 }));
		const base = `http://127.0.0.1:${port}`;
		const searchUrl = () => {
			const { lat, lon } = point();
			return `${base}/api/hunts?lat=${lat.toFixed(5)}&lon=${lon.toFixed(5)}&radius=3000&limit=20`;
		};
		const connections = 20;
		await load(`${base}/api/ping`, connections, 2);
		await load(searchUrl, connections, 2);
		const viewCache = (broker.getLocalService("hunts") as unknown as { viewCache: { stats(): { hits: number; misses: number } } }).viewCache;
		const duringSearches = viewCache.stats();
		const pings: Latency[] = [];
		const searches: Latency[] = [];
		for (let round = 0; round < 2; round++) {
			pings.push(await load(`${base}/api/ping`, connections, durationSeconds));
			searches.push(await load(searchUrl, connections, durationSeconds));
		}
		const summarise = (runs: Latency[]) => ({ perSecond: Math.round(median(runs.map(r => r.perSecond))), p50Ms: median(runs.map(r => r.p50Ms)), p99Ms: median(runs.map(r => r.p99Ms)) });
		const ping = summarise(pings);
		const search = summarise(searches);
		const afterSearches = viewCache.stats();
		const viewHits = afterSearches.hits - duringSearches.hits;
		const searchViewHitRate = Math.round((viewHits / (viewHits + afterSearches.misses - duringSearches.misses)) * 1000) / 1000;

		// Players where players are: searches from points around one town square (2 km across), whose
		// hunts' views the cache can hold, against the trivial action again.
		const square = point();
		const hotUrl = () => `${base}/api/hunts?lat=${(square.lat + (Math.random() - 0.5) * 0.018).toFixed(5)}&lon=${(square.lon + (Math.random() - 0.5) * 0.027).toFixed(5)}&radius=3000&limit=20`;
		await load(hotUrl, connections, 2);
		const hotPings: Latency[] = [];
		const hotSearches: Latency[] = [];
		for (let round = 0; round < 2; round++) {
			hotPings.push(await load(`${base}/api/ping`, connections, durationSeconds));
			hotSearches.push(await load(hotUrl, connections, durationSeconds));
		}
		const hotPing = summarise(hotPings);
		const hotSearch = summarise(hotSearches);

		// Players looking at the same few popular hunts: the public view cache's hit rate.
		const cache = (broker.getLocalService("hunts") as unknown as { viewCache: { stats(): { hits: number; misses: number } } }).viewCache;
		const { rows } = await (broker.getLocalService("hunts") as unknown as { database: { db: SqlClient } }).database.db.query<{ id: string }>(`select id from hunts.hunts limit 50`);
		const before = cache.stats();
		for (let i = 0; i < 2000; i++) await broker.call("hunts.get", { id: rows[Math.floor(Math.random() ** 3 * rows.length)].id });
		const after = cache.stats();
		const hits = after.hits - before.hits;
		const total = hits + after.misses - before.misses;
		return {
			store,
			nearbyAction,
			searchAction,
			gateway: { search, ping, ratio: Math.round((search.perSecond / ping.perSecond) * 100) / 100, connections, searchViewHitRate },
			aroundOneSquare: { search: hotSearch, ping: hotPing, ratio: Math.round((hotSearch.perSecond / hotPing.perSecond) * 100) / 100 },
			cacheHitRate: Math.round((hits / total) * 1000) / 1000,
		};
	} finally {
		// Redis keeps what the run indexed otherwise (each run has a namespace of its own).
		await nodeBackends(broker)
			.keyValueStore()
			.del("geo:hunts")
			.catch(() => undefined);
		await broker.stop();
		fs.rmSync(dataDir, { recursive: true, force: true });
	}
}

async function textAndGeoOnPostgres(): Promise<HuntsBenchResult["textAndGeoOnPostgres"]> {
	const unreachable = await probeBackend("postgres", PG_URL);
	if (unreachable) return { perSecond: 0, p50Ms: 0, p99Ms: 0, skipped: `PostgreSQL ${unreachable}` };
	// A database of its own, dropped afterwards: the run leaves the server as it found it.
	const scratch = await scratchDatabase(PG_URL);
	const port = await freePort();
	const dataDir = tempDataDir();
	const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "warn", HOST: "127.0.0.1", PORT: String(port), DATA_DIR: dataDir, DATABASE_URL: scratch.url, RATE_LIMIT_PER_MINUTE: "0" });
	const broker = createNode(config, { skipProcessEventRegistration: true });
	try {
		await broker.start();
		await rebuilt(broker);
		await seed(broker, HUNTS);
		return await timed(500, () => broker.call("hunts.search", { ...point(), radius: 5000, q: WORDS[Math.floor(Math.random() * WORDS.length)], limit: 20 }));
	} finally {
		await broker.stop();
		fs.rmSync(dataDir, { recursive: true, force: true });
		await scratch.drop();
	}
}

/** The same query with OPENSEARCH_URL: words, tags and distance answered by OpenSearch in one query. */
async function textAndGeoOnOpenSearch(): Promise<HuntsBenchResult["textAndGeoOnOpenSearch"]> {
	const unreachable = await probeBackend("opensearch", OPENSEARCH_URL);
	if (unreachable) return { perSecond: 0, p50Ms: 0, p99Ms: 0, skipped: `OpenSearch ${unreachable}` };
	const namespace = `bench${randomUUID().slice(0, 6)}`;
	const dataDir = tempDataDir();
	const config = loadConfig({
		NODE_ENV: "test",
		LOG_LEVEL: "warn",
		HOST: "127.0.0.1",
		PORT: String(await freePort()),
		DATA_DIR: dataDir,
		OPENSEARCH_URL,
		NAMESPACE: namespace,
		RATE_LIMIT_PER_MINUTE: "0",
	});
	const broker = createNode(config, { skipProcessEventRegistration: true });
	const index = new OpenSearchHuntIndex({ url: OPENSEARCH_URL, namespace });
	try {
		await broker.start();
		await rebuilt(broker);
		await seed(broker, HUNTS);
		// What a node does at start with hunts it has not indexed yet.
		const db = (broker.getLocalService("hunts") as unknown as { database: { db: SqlClient } }).database.db;
		await new HuntTextMirror(new HuntStore(db, "hunts"), index).reconcile();
		await index.refresh();
		return await timed(500, () => broker.call("hunts.search", { ...point(), radius: 5000, q: WORDS[Math.floor(Math.random() * WORDS.length)], limit: 20 }));
	} finally {
		await broker.stop();
		await index.drop().catch(() => undefined);
		await index.close();
		fs.rmSync(dataDir, { recursive: true, force: true });
	}
}

async function scratchDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
	const name = `lootopia_bench_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
	const admin = await acquireDatabase({ url: serverUrl, poolSize: 1 });
	await admin.client.query(`create database "${name}"`);
	const url = new URL(serverUrl);
	url.pathname = `/${name}`;
	return {
		url: url.toString(),
		drop: async () => {
			await admin.client.query(`drop database if exists "${name}" with (force)`);
			await admin.release();
		},
	};
}

/** Validation (graph and the rest), zones and the publish transaction for a hunt of 200 clues. */
async function publish200(engine: string, graphFor: (db: SqlClient) => ClueGraph | Promise<ClueGraph>): Promise<HuntsBenchResult["publish200Clues"][number]> {
	const dataDir = tempDataDir();
	const lease = await acquireDatabase({ dataDir });
	const schema = "hunts";
	try {
		await runMigrations(lease.client, schema, PLATFORM_MIGRATIONS, PLATFORM_MIGRATION_TRACK);
		await runMigrations(lease.client, schema, HUNTS_MIGRATIONS);
		const graph = await graphFor(lease.client);
		const store = new HuntStore(lease.client, schema);
		const flows = new HuntFlows(store, new Outbox(lease.client, schema), graph);
		const partner = { id: randomUUID(), name: "Bench", status: "verified" as const };
		const times: number[] = [];
		for (let run = 0; run < 5; run++) {
			const hunt = await flows.create(
				partner,
				{
					partnerId: partner.id,
					title: "Two hundred",
					description: "d",
					tags: [],
					area: { lat: 48.85, lon: 2.35, radiusM: 5000 },
					startsAt: "2026-01-01T00:00:00Z",
					endsAt: "2099-01-01T00:00:00Z",
					visibility: "public",
				},
				partner.id,
			);
			const ids: string[] = [];
			for (let i = 0; i < 200; i++)
				ids.push(
					(await store.addClue(hunt.id, { title: `c${i}`, position: { lat: 48.85 + i * 0.0001, lon: 2.35 }, radiusM: 20, content: "x", question: null, answerHash: null, hints: [], points: 1 })).id,
				);
			// A trunk with branches that join again: the shapes hunts have.
			await store.replacePaths(hunt.id, [
				...ids.slice(1).map((to, i) => ({ from: ids[i], to })),
				...ids
					.slice(0, 190)
					.filter((_, i) => i % 10 === 0)
					.map((from, i) => ({ from, to: ids[i * 10 + 5] })),
			]);
			const started = performance.now();
			await flows.publish(hunt.id, partner, { actor: { type: "operator", id: "bench" } });
			times.push(performance.now() - started);
		}
		await graph.close();
		return { engine, medianMs: Math.round(median(times)) };
	} finally {
		await lease.release();
		fs.rmSync(dataDir, { recursive: true, force: true });
	}
}

export async function benchHunts(opts: { durationSeconds?: number } = {}): Promise<HuntsBenchResult> {
	const durationSeconds = opts.durationSeconds ?? 5;
	const stores: HuntsBenchResult["stores"] = [await runStore("memory", {}, durationSeconds)];
	const redisUnreachable = await probeBackend("redis", REDIS_URL);
	stores.push(redisUnreachable ? { store: "redis", skipped: `Redis ${redisUnreachable}` } : await runStore("redis", { STORE_URL: REDIS_URL }, durationSeconds));
	// As deployed: Redis GEO and PostgreSQL, whose queries do not hold the event loop the way embedded PGlite's do.
	const postgresUnreachable = redisUnreachable ?? (await probeBackend("postgres", PG_URL));
	if (postgresUnreachable) stores.push({ store: "redis + PostgreSQL", skipped: postgresUnreachable });
	else {
		const scratch = await scratchDatabase(PG_URL);
		try {
			stores.push(await runStore("redis + PostgreSQL", { STORE_URL: REDIS_URL, DATABASE_URL: scratch.url }, durationSeconds));
		} finally {
			await scratch.drop();
		}
	}
	const textAndGeo = await textAndGeoOnPostgres();
	const textAndGeoOpenSearch = await textAndGeoOnOpenSearch();
	const neo4jUnreachable = await probeBackend("neo4j", NEO4J_URL);
	const publish200Clues = [
		await publish200("SQL (PGlite)", db => new SqlClueGraph(db, "hunts")),
		neo4jUnreachable
			? { engine: "Neo4j", skipped: neo4jUnreachable }
			: await publish200("Neo4j", () => new Neo4jClueGraph({ url: NEO4J_URL, label: `BenchClue_${randomUUID().replace(/-/g, "").slice(0, 8)}` })),
	];
	return { hunts: HUNTS, stores, textAndGeoOnPostgres: textAndGeo, textAndGeoOnOpenSearch: textAndGeoOpenSearch, publish200Clues };
}
