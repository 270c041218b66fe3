/**
 * The hunt search contract (hunt-search.contract.ts) with PostgreSQL's full-text search (PGlite,
 * PostgreSQL) and with OpenSearch; how the OpenSearch copy is kept; and what happens when it fails.
 */
import { randomUUID } from "node:crypto";
import { describeWithBackend } from "../../test/support/backends";
import { onEverySqlEngine, openTestPGlite, useMigratedSchema, type TestDatabase } from "../../test/support/sql";
import { Outbox } from "../../platform/outbox/outbox";
import { SqlClueGraph } from "./clue-graph/sql-clue-graph";
import { HuntFlows, type HuntFlowsOptions } from "./hunt-flows";
import { huntSearchContract } from "./hunt-search.contract";
import { HUNT_COLUMNS, HuntStore, HUNTS_MIGRATIONS, withoutExclusions, type HuntDetails } from "./hunt-store";
import { huntIndexName, OpenSearchHuntIndex, simpleQueryOf } from "./hunt-text-index";
import { HuntTextMirror } from "./hunt-text-mirror";

/** Flows over a fresh schema of `open`'s database, the way the hunts service builds them. */
function flowsOn(open: () => Promise<TestDatabase>, options: () => HuntFlowsOptions = () => ({})) {
	const db = useMigratedSchema(open, "huntsearch", HUNTS_MIGRATIONS);
	const state = { db } as { db: typeof db; store: HuntStore; flows: HuntFlows };
	beforeAll(() => {
		state.store = new HuntStore(db.client, db.schema);
		state.flows = new HuntFlows(state.store, new Outbox(db.client, db.schema), new SqlClueGraph(db.client, db.schema), options());
	});
	return state;
}

onEverySqlEngine((engine, open) => {
	describe(`on ${engine}`, () => {
		const state = flowsOn(open);
		it("reads every column of a hunt but its search vector (a migration adding one must add it there)", async () => {
			const { rows } = await state.db.client.query<{ column_name: string }>(`select column_name from information_schema.columns where table_schema = $1 and table_name = 'hunts'`, [state.db.schema]);
			const read = HUNT_COLUMNS.split(",").map(column => column.trim());
			expect(new Set(read)).toEqual(new Set(rows.map(row => row.column_name).filter(column => column !== "search")));
		});
		huntSearchContract(`PostgreSQL full-text on ${engine}`, async () => ({ flows: state.flows, store: state.store, indexed: async () => undefined, dispose: async () => undefined }));
	});
});

describeWithBackend("opensearch", "OpenSearch", os => {
	const index = new OpenSearchHuntIndex({ url: os.url, namespace: `test-${randomUUID().slice(0, 8)}`, refreshOnWrite: true });
	const state = flowsOn(openTestPGlite, () => ({
		textIndex: index,
		onTextIndexFailure: err => {
			throw err;
		},
	}));
	afterAll(async () => {
		await index.drop();
		await index.close();
	});

	huntSearchContract("OpenSearch", async () => ({
		flows: state.flows,
		store: state.store,
		// The way a node starting with an empty index fills it.
		indexed: async () => void (await new HuntTextMirror(state.store, index).reconcile()),
		dispose: async () => undefined,
	}));
});

describeWithBackend("opensearch", "the OpenSearch copy of the hunts", os => {
	const index = new OpenSearchHuntIndex({ url: os.url, namespace: `test-${randomUUID().slice(0, 8)}`, refreshOnWrite: true });
	const db = useMigratedSchema(openTestPGlite, "huntmirror", HUNTS_MIGRATIONS);
	let store: HuntStore;
	let mirror: HuntTextMirror;
	const partner = { id: randomUUID(), name: "Mirror Co" };
	afterAll(async () => {
		await index.drop();
		await index.close();
	});
	beforeAll(() => {
		store = new HuntStore(db.client, db.schema);
		mirror = new HuntTextMirror(store, index);
	});

	const published = async (title: string) => {
		const hunt = await store.create(partner, huntDetails(title), partner.id);
		await store.setStatus(hunt.id, "published", { publishedAt: new Date() });
		return hunt.id;
	};
	const indexed = async () => (await collect(index.ids(2))).sort();

	it("follows each change as the table has it now, whatever the message said", async () => {
		const id = await published("Lighthouse");
		await mirror.follow(id);
		expect(await index.search({ q: "lighthouse", tags: [] }, 0, 10)).toEqual([{ huntId: id }]);
		await store.setStatus(id, "archived");
		await mirror.follow(id);
		await mirror.follow(id);
		expect(await index.search({ q: "lighthouse", tags: [] }, 0, 10)).toEqual([]);
		// A hunt that no longer exists at all is dropped too.
		await mirror.follow(randomUUID());
	});

	it("reconciles: indexes every listed hunt, drops every other, pages through both", async () => {
		const listed = [await published("Alpha"), await published("Bravo"), await published("Charlie")];
		const stale = randomUUID();
		await index.put([{ id: stale, title: "Gone", description: "", tags: [], area: { lat: 1, lon: 1 }, publishedAt: new Date().toISOString() }]);
		const result = await mirror.reconcile();
		expect(result.indexed).toBe(3);
		expect(result.removed).toBeGreaterThanOrEqual(1);
		expect(await indexed()).toEqual([...listed].sort());
		expect(await mirror.reconcile()).toEqual({ indexed: 3, removed: 0 });
	});

	it("names its index after the namespace, within OpenSearch's rules", () => {
		expect(huntIndexName("lootopia")).toBe("lootopia-hunts");
		expect(huntIndexName("Staging EU/1")).toBe("staging-eu-1-hunts");
		expect(index.name).toMatch(/^test-[0-9a-f]{8}-hunts$/);
	});
});

describe("an OpenSearch that fails", () => {
	const failures: Error[] = [];
	const state = flowsOn(openTestPGlite, () => ({
		textIndex: { search: async () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:9200")) },
		onTextIndexFailure: err => failures.push(err),
	}));

	it("is reported, and PostgreSQL answers instead", async () => {
		const partner = { id: randomUUID(), name: "Fallback Co" };
		const hunt = await state.store.create(partner, huntDetails("Windmill"), partner.id);
		await state.store.setStatus(hunt.id, "published", { publishedAt: new Date() });
		const found = await state.flows.search({ q: "windmill", limit: 10 }, async () => []);
		expect(found.items.map(item => item.id)).toEqual([hunt.id]);
		expect(failures.map(err => err.message)).toEqual(["connect ECONNREFUSED 127.0.0.1:9200"]);
	});
});

describe("withoutExclusions", () => {
	it("keeps the words and phrases a hunt is ranked on", () => {
		expect(withoutExclusions("castle -river")).toBe("castle");
		expect(withoutExclusions('-"old town" harbour -night')).toBe("harbour");
		expect(withoutExclusions('"well-known" tea-room')).toBe('"well-known" tea-room');
		expect(withoutExclusions("-only -exclusions")).toBe("");
	});
});

describe("simpleQueryOf", () => {
	it("turns websearch's `or` into simple_query_string's `|`, and nothing else", () => {
		expect(simpleQueryOf("castle or river")).toBe("castle | river");
		expect(simpleQueryOf('"old town" OR harbour -night')).toBe('"old town" | harbour -night');
		expect(simpleQueryOf("orchard order")).toBe("orchard order");
		expect(simpleQueryOf("or")).toBe("or");
		expect(simpleQueryOf('"cats or dogs" or birds')).toBe('"cats or dogs" | birds');
	});
});

function huntDetails(title: string): HuntDetails {
	return {
		title,
		description: "",
		tags: [],
		area: { lat: 48.85, lon: 2.35, radiusM: 500 },
		startsAt: "2026-01-01T00:00:00.000Z",
		endsAt: "2099-01-01T00:00:00.000Z",
		visibility: "public",
		capacity: null,
		difficulty: null,
		timeLimitMinutes: null,
		zoneRadiusM: 150,
	};
}

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
	const all: T[] = [];
	for await (const page of pages) all.push(...page);
	return all;
}
