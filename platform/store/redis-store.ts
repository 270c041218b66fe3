/**
 * The store on Redis (6.2 or later: GEOSEARCH, ZRANGE … REV), through ioredis. Every call is one
 * Redis command or one Lua script, so each is atomic across every process sharing the server.
 */
import Redis from "ioredis";
import {
	checkGeoPoint,
	checkGeoSearch,
	checkIncrement,
	checkRank,
	checkScore,
	checkTtlMs,
	GeoHit,
	GeoPoint,
	GeoSearchQuery,
	IncrOptions,
	KeyValueStore,
	RankOptions,
	ScoredMember,
	SetOptions,
	StoreError,
} from "./types";

/**
 * INCRBY that sets the expiry only when it creates the key, in one step: with two commands a
 * crash or a concurrent caller between them could leave a counter that never expires, and a fixed
 * window would then never reset.
 */
const INCR_CREATING_WITH_TTL = `
local created = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if created and ARGV[2] ~= '' then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
`;

/** GET, compare, SET in one step: another writer cannot slip in between. */
const REPLACE_IF_EQUAL = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
	return 0
end
if ARGV[3] ~= '' then
	redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
	redis.call('SET', KEYS[1], ARGV[2])
end
return 1
`;

interface WithScripts {
	lootopiaIncrCreatingWithTtl(key: string, by: number, ttlMs: string): Promise<number>;
	lootopiaReplaceIfEqual(key: string, expected: string, value: string, ttlMs: string): Promise<number>;
}

export interface RedisStoreOptions {
	/** redis:// or rediss:// */
	url: string;
	keyPrefix?: string;
	/** How long `ping` waits for an answer, including while ioredis is still reconnecting. Default 2 s. */
	pingTimeoutMs?: number;
	/** How long a connection may take to open, and `close` waits for one being opened. Default 5 s. */
	connectTimeoutMs?: number;
	/**
	 * Connection errors (refused, reset, DNS…) as ioredis reports them while it reconnects on its
	 * own. Commands issued meanwhile reject by themselves; this is for logging. Default: ignored.
	 */
	onConnectionError?: (error: Error) => void;
}

/** Redis error replies that mean the same thing as a memory-store StoreError. */
function translateError(err: unknown): unknown {
	if (!(err instanceof Error)) return err;
	if (err.message.includes("WRONGTYPE")) return new StoreError("WRONG_KIND", err.message, { cause: err });
	if (/not an integer or out of range|would overflow/.test(err.message)) return new StoreError("NOT_AN_INTEGER", err.message, { cause: err });
	return err;
}

/** WITHSCORES replies come flat: member, score, member, score… */
function pairScores(flat: string[]): ScoredMember[] {
	const pairs: ScoredMember[] = [];
	for (let i = 0; i < flat.length; i += 2) pairs.push({ member: flat[i], score: Number(flat[i + 1]) });
	return pairs;
}

export class RedisStore implements KeyValueStore {
	readonly keyPrefix: string;
	private readonly client: Redis;
	private readonly pingTimeoutMs: number;
	private readonly connectTimeoutMs: number;
	private closed = false;

	constructor(options: RedisStoreOptions) {
		this.keyPrefix = options.keyPrefix ?? "";
		this.pingTimeoutMs = options.pingTimeoutMs ?? 2000;
		this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
		this.client = new Redis(options.url, {
			// ioredis otherwise retries a command across 20 reconnections: a request would hang for
			// many seconds when Redis is down, where failing fast lets the caller answer 503.
			maxRetriesPerRequest: 2,
			connectTimeout: this.connectTimeoutMs,
			// Connect on the first command: a store created and closed unused never opens a socket.
			lazyConnect: true,
			// ioredis arms this timer on every disconnect, even when the socket is already gone (as
			// while reconnecting to a server that is down), and it then holds the process open in
			// vain; 2 s by default, 500 ms still leaves a live socket ample time to close.
			disconnectTimeout: 500,
		});
		const onConnectionError = options.onConnectionError ?? (() => undefined);
		// Without a listener ioredis prints every reconnection failure to stderr.
		this.client.on("error", onConnectionError);
		this.client.defineCommand("lootopiaIncrCreatingWithTtl", { numberOfKeys: 1, lua: INCR_CREATING_WITH_TTL });
		this.client.defineCommand("lootopiaReplaceIfEqual", { numberOfKeys: 1, lua: REPLACE_IF_EQUAL });
	}

	async get(key: string): Promise<string | null> {
		return this.run(this.client.get(this.keyPrefix + key));
	}

	async set(key: string, value: string, opts: SetOptions = {}): Promise<boolean> {
		checkTtlMs(opts.ttlMs);
		const name = this.keyPrefix + key;
		const { ttlMs, onlyIfAbsent } = opts;
		let reply: "OK" | null;
		if (ttlMs !== undefined) reply = await this.run(onlyIfAbsent ? this.client.set(name, value, "PX", ttlMs, "NX") : this.client.set(name, value, "PX", ttlMs));
		else reply = await this.run(onlyIfAbsent ? this.client.set(name, value, "NX") : this.client.set(name, value));
		return reply === "OK";
	}

	async replace(key: string, expected: string, value: string, opts: { ttlMs?: number } = {}): Promise<boolean> {
		checkTtlMs(opts.ttlMs);
		const client = this.client as unknown as WithScripts;
		return (await this.run(client.lootopiaReplaceIfEqual(this.keyPrefix + key, expected, value, opts.ttlMs === undefined ? "" : String(opts.ttlMs)))) === 1;
	}

	async del(...keys: string[]): Promise<number> {
		if (keys.length === 0) return 0; // DEL without a key is a syntax error
		return this.run(this.client.del(...keys.map(key => this.keyPrefix + key)));
	}

	async incr(key: string, opts: IncrOptions = {}): Promise<number> {
		const by = opts.by ?? 1;
		checkIncrement(by);
		checkTtlMs(opts.ttlMs);
		const client = this.client as unknown as WithScripts;
		return this.run(client.lootopiaIncrCreatingWithTtl(this.keyPrefix + key, by, opts.ttlMs === undefined ? "" : String(opts.ttlMs)));
	}

	async ttl(key: string): Promise<number | null> {
		const left = await this.run(this.client.pttl(this.keyPrefix + key));
		return left < 0 ? null : left; // -2: no key, -1: no expiry
	}

	async geoAdd(index: string, member: string, { lat, lon }: GeoPoint): Promise<boolean> {
		checkGeoPoint({ lat, lon });
		return (await this.run(this.client.geoadd(this.keyPrefix + index, lon, lat, member))) === 1;
	}

	async geoRemove(index: string, member: string): Promise<boolean> {
		return (await this.run(this.client.zrem(this.keyPrefix + index, member))) === 1;
	}

	async geoSearch(index: string, query: GeoSearchQuery): Promise<GeoHit[]> {
		checkGeoSearch(query);
		const { lat, lon, radiusM, limit } = query;
		const count = limit === undefined ? [] : ["COUNT", limit];
		// Without ANY, COUNT keeps the nearest `limit` members, which is what callers mean.
		const reply = (await this.run(this.client.geosearch(this.keyPrefix + index, "FROMLONLAT", lon, lat, "BYRADIUS", radiusM, "m", "ASC", ...count, "WITHDIST", "WITHCOORD"))) as [
			string,
			string,
			[string, string],
		][];
		return reply.map(([member, distance, [hitLon, hitLat]]) => ({ member, distanceM: Number(distance), lat: Number(hitLat), lon: Number(hitLon) }));
	}

	async geoPosition(index: string, member: string): Promise<GeoPoint | null> {
		const [position] = await this.run(this.client.geopos(this.keyPrefix + index, member));
		return position ? { lat: Number(position[1]), lon: Number(position[0]) } : null;
	}

	async zAdd(set: string, member: string, score: number): Promise<boolean> {
		checkScore(score);
		return (await this.run(this.client.zadd(this.keyPrefix + set, score, member))) === 1;
	}

	async zIncrBy(set: string, member: string, delta: number): Promise<number> {
		checkScore(delta, "delta");
		return Number(await this.run(this.client.zincrby(this.keyPrefix + set, delta, member)));
	}

	async zScore(set: string, member: string): Promise<number | null> {
		const score = await this.run(this.client.zscore(this.keyPrefix + set, member));
		return score === null ? null : Number(score);
	}

	async zRem(set: string, member: string): Promise<boolean> {
		return (await this.run(this.client.zrem(this.keyPrefix + set, member))) === 1;
	}

	async zCard(set: string): Promise<number> {
		return this.run(this.client.zcard(this.keyPrefix + set));
	}

	async zRangeByRank(set: string, start: number, stop: number, opts: RankOptions = {}): Promise<ScoredMember[]> {
		checkRank(start, "start");
		checkRank(stop, "stop");
		const name = this.keyPrefix + set;
		const flat = await this.run(opts.descending ? this.client.zrange(name, start, stop, "REV", "WITHSCORES") : this.client.zrange(name, start, stop, "WITHSCORES"));
		return pairScores(flat);
	}

	async zRank(set: string, member: string, opts: RankOptions = {}): Promise<number | null> {
		const name = this.keyPrefix + set;
		return this.run(opts.descending ? this.client.zrevrank(name, member) : this.client.zrank(name, member));
	}

	async ping(): Promise<void> {
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`no answer to PING within ${this.pingTimeoutMs} ms`)), this.pingTimeoutMs);
		});
		try {
			await Promise.race([this.client.ping(), timeout]);
		} catch (err) {
			// ioredis's own messages ("Reached the max retries per request limit") do not say where.
			throw new Error(`Redis at ${this.address()} is unreachable: ${(err as Error).message}`, { cause: err });
		} finally {
			clearTimeout(timer);
		}
	}

	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		// Cutting a connection mid-handshake makes ioredis take it for a fatal error and start over;
		// let the handshake end first (ready, or failed).
		await this.connectionSettled();
		// QUIT lets commands already sent finish; a client that is not connected has nothing to finish
		// and would otherwise keep reconnecting.
		if (this.client.status === "ready") {
			try {
				await this.client.quit();
				return;
			} catch {
				// fall through: the connection broke while quitting
			}
		}
		this.client.disconnect();
	}

	private connectionSettled(): Promise<void> {
		const client = this.client;
		if (client.status !== "connecting" && client.status !== "connect") return Promise.resolve();
		return new Promise(resolve => {
			const settled = () => {
				clearTimeout(timer);
				for (const event of ["ready", "close", "end"]) client.off(event, settled);
				resolve();
			};
			const timer = setTimeout(settled, this.connectTimeoutMs);
			for (const event of ["ready", "close", "end"]) client.once(event, settled);
		});
	}

	private address(): string {
		const { host, port } = this.client.options;
		return `${host}:${port}`;
	}

	private async run<T>(command: Promise<T>): Promise<T> {
		try {
			return await command;
		} catch (err) {
			throw translateError(err);
		}
	}
}
