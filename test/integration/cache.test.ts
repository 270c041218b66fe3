/**
 * The action cache contract, through a broker built with our options, against each cacher the
 * configuration can select: in memory by default, Redis when CACHE_URL/REDIS_URL points at one.
 * On Redis, two nodes share what one of them cached.
 */
import { randomUUID } from "node:crypto";
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../platform/config/env";
import { buildBrokerOptions } from "../../moleculer.config";
import { describeWithBackend } from "../support/backends";

/** Moleculer stores a result without awaiting the cacher; give a Redis write a moment to land. */
const settle = () => new Promise(resolve => setTimeout(resolve, 50));

function cacheContract(name: string, env: () => Record<string, string>, opts: { shared: boolean }) {
	describe(`action cache: ${name}`, () => {
		const brokers: ServiceBroker[] = [];
		let computed = 0;
		const namespace = `cache${randomUUID().slice(0, 8)}`;

		function node(id: string) {
			// The channels middleware is not what this suite is about.
			const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "warn", NAMESPACE: namespace, ...env() });
			const broker = new ServiceBroker({ ...buildBrokerOptions(config, { channels: false }), nodeID: `${namespace}-${id}`, logger: false, skipProcessEventRegistration: true });
			broker.createService({
				name: "hunts",
				actions: {
					nearby: {
						cache: { keys: ["lat", "lon"], ttl: 1 },
						params: { lat: "number", lon: "number" },
						handler(ctx) {
							computed++;
							return { lat: ctx.params.lat, lon: ctx.params.lon, computed };
						},
					},
				},
			});
			brokers.push(broker);
			return broker;
		}

		afterAll(async () => {
			for (const broker of brokers) {
				await broker.cacher?.clean();
				await broker.stop();
			}
		});

		it("serves a repeated call from the cache, keyed by the declared params", async () => {
			const broker = node("a");
			await broker.start();
			// The Redis cacher drops writes until its connection is up.
			await (broker.cacher as unknown as { client?: { ping(): Promise<unknown> } }).client?.ping();
			const first = await broker.call("hunts.nearby", { lat: 48.85, lon: 2.35 });
			await settle();
			const again = await broker.call("hunts.nearby", { lat: 48.85, lon: 2.35 });
			const elsewhere = await broker.call("hunts.nearby", { lat: 45.76, lon: 4.83 });
			expect(again).toEqual(first);
			expect(elsewhere).not.toEqual(first);
			expect(computed).toBe(2);
		});

		it("forgets entries after their TTL and when cleaned", async () => {
			const broker = brokers[0];
			const before = computed;
			await new Promise(resolve => setTimeout(resolve, 1100));
			await broker.call("hunts.nearby", { lat: 48.85, lon: 2.35 });
			expect(computed).toBe(before + 1);
			await broker.cacher!.clean("hunts.**");
			await broker.call("hunts.nearby", { lat: 48.85, lon: 2.35 });
			expect(computed).toBe(before + 2);
		});

		(opts.shared ? it : it.skip)(`${opts.shared ? "" : "[skipped: an in-memory cache is per node by design] "}shares entries between nodes`, async () => {
			const other = node("b");
			await other.start();
			await (other.cacher as unknown as { client?: { ping(): Promise<unknown> } }).client?.ping();
			// Entries live 1 s: an attempt whose two calls lie further apart (a loaded machine) proves
			// nothing either way and is tried again with other coordinates; a quick one must share.
			let provedSharing = false;
			for (let attempt = 0; attempt < 5 && !provedSharing; attempt++) {
				const place = { lat: 43.3 + attempt / 100, lon: 5.37 };
				const before = computed;
				const started = performance.now();
				await brokers[0].call("hunts.nearby", place);
				await settle();
				await other.call("hunts.nearby", place);
				if (performance.now() - started > 800) continue;
				expect(computed).toBe(before + 1);
				provedSharing = true;
			}
			expect(provedSharing).toBe(true);
		});
	});
}

cacheContract("memory", () => ({}), { shared: false });

describeWithBackend("redis", "Redis cacher", redis => {
	cacheContract("redis", () => ({ CACHE_URL: redis.url }), { shared: true });
});
