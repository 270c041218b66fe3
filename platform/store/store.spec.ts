import net from "node:net";
import Redis from "ioredis";
import { describeWithBackend } from "../../test/support/backends";
import { createStore, MemoryKeyspace, MemoryStore, RedisStore } from "./index";
import { storeContract } from "./store.contract";

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

/** Unique per run, so parallel runs against one Redis never meet, and cleanup finds exactly ours. */
const RUN_PREFIX = `lootopia-test:store:${process.pid}-${Date.now().toString(36)}:`;

describe("memory store", () => {
	const keyspace = new MemoryKeyspace();
	storeContract("memory", scope => new MemoryStore({ keyPrefix: RUN_PREFIX + scope, keyspace }));
	afterAll(() => keyspace.clear());

	it("sweeps expired keys nobody reads again", async () => {
		const sweptKeyspace = new MemoryKeyspace(20);
		const store = new MemoryStore({ keyspace: sweptKeyspace });
		try {
			await store.set("short-1", "x", { ttlMs: 10 });
			await store.incr("short-2", { ttlMs: 10 });
			await store.set("long", "x", { ttlMs: 60_000 });
			await store.zAdd("board", "alice", 1);
			expect(sweptKeyspace.size).toBe(4);
			await sleep(100);
			expect(sweptKeyspace.size).toBe(2);
		} finally {
			await store.close();
		}
	});

	it("never keeps the process alive with its sweep timer", async () => {
		const refTimers = () => process.getActiveResourcesInfo().filter(resource => resource === "Timeout").length;
		const before = refTimers();
		const store = new MemoryStore({ keyspace: new MemoryKeyspace() });
		try {
			expect(refTimers()).toBe(before);
		} finally {
			await store.close();
		}
	});
});

describeWithBackend("redis", "redis store", status => {
	storeContract("redis", scope => createStore({ url: status.url, keyPrefix: RUN_PREFIX + scope }));

	afterAll(async () => {
		// Each test writes under its own prefix and leaves its keys there; remove this run's keys, all
		// of them, and check none is left.
		const admin = new Redis(status.url, { lazyConnect: true });
		try {
			await admin.connect();
			const ours = async () => {
				const names: string[] = [];
				for await (const batch of admin.scanStream({ match: `${RUN_PREFIX}*`, count: 500 })) names.push(...(batch as string[]));
				return names;
			};
			const names = await ours();
			if (names.length) await admin.del(...names);
			expect(await ours()).toEqual([]);
		} finally {
			await admin.quit();
		}
	});
});

describe("createStore", () => {
	it("makes memory stores for no URL, an empty one or memory://, sharing one keyspace per process", async () => {
		const prefix = `${RUN_PREFIX}factory:`;
		const stores = [createStore({ keyPrefix: prefix }), createStore({ url: "", keyPrefix: prefix }), createStore({ url: "memory://", keyPrefix: prefix })];
		try {
			for (const store of stores) expect(store).toBeInstanceOf(MemoryStore);
			await stores[0].set("seen", "by all");
			expect(await stores[1].get("seen")).toBe("by all");
			expect(await stores[2].get("seen")).toBe("by all");
			await stores[0].del("seen");
		} finally {
			await Promise.all(stores.map(store => store.close()));
		}
	});

	it("prefixes keys with lootopia: unless told otherwise", () => {
		const store = createStore();
		expect((store as MemoryStore).keyPrefix).toBe("lootopia:");
		return store.close();
	});

	it("makes Redis stores for redis:// and rediss:// URLs", async () => {
		// Nothing listens on port 1, which does not matter: a store connects on its first command.
		const stores = [createStore({ url: "redis://127.0.0.1:1" }), createStore({ url: "rediss://127.0.0.1:1" })];
		for (const store of stores) expect(store).toBeInstanceOf(RedisStore);
		await Promise.all(stores.map(store => store.close()));
	});

	it("refuses any other URL, naming it without its password", () => {
		expect(() => createStore({ url: "postgres://app:s3cret@db:5432/x" })).toThrow('Unsupported store URL "postgres://app:***@db:5432/x"');
		expect(() => createStore({ url: "redis-cluster" })).toThrow('"redis-cluster"');
		expect(() => createStore({ url: "postgres://app:s3cret@db:5432/x" })).not.toThrow(/s3cret/);
	});
});

describe("redis store without a working server", () => {
	it("rejects ping when the server accepts connections but never answers", async () => {
		const sockets = new Set<net.Socket>();
		const silent = net.createServer(socket => sockets.add(socket));
		await new Promise<void>(resolve => silent.listen(0, "127.0.0.1", resolve));
		const { port } = silent.address() as net.AddressInfo;
		const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, pingTimeoutMs: 300, connectTimeoutMs: 300 });
		try {
			await expect(store.ping()).rejects.toThrow(`Redis at 127.0.0.1:${port} is unreachable: no answer to PING within 300 ms`);
		} finally {
			await store.close();
			for (const socket of sockets) socket.destroy();
			await new Promise(resolve => silent.close(resolve));
		}
	});

	it("rejects ping, naming the address, when nothing listens there", async () => {
		const store = new RedisStore({ url: "redis://127.0.0.1:1", pingTimeoutMs: 500 });
		const started = Date.now();
		try {
			await expect(store.ping()).rejects.toThrow("Redis at 127.0.0.1:1 is unreachable");
			expect(Date.now() - started).toBeLessThan(2_000);
		} finally {
			await store.close();
		}
	});
});
