import { ConfigError, loadConfig, redactUrl } from "./env";

describe("loadConfig", () => {
	it("starts with safe embedded defaults when nothing is set", () => {
		const config = loadConfig({ NODE_ENV: "development" });
		expect(config.transporter).toBeUndefined();
		expect(config.databaseUrl).toBeUndefined();
		expect(config.cacheUrl).toBe("memory://");
		expect(config.storeUrl).toBe("memory://");
		expect(config.channelsUrl).toBe("embedded://");
		expect(config.services).toEqual(["*"]);
		expect(config.http.port).toBe(3000);
		expect(config.log.format).toBe("pretty");
		expect(config.http.corsOrigins).toEqual(["*"]);
	});

	it("listens only on this machine in development and on every interface in production, unless HOST says otherwise", () => {
		expect(loadConfig({ NODE_ENV: "development" }).http.host).toBe("127.0.0.1");
		expect(loadConfig({ NODE_ENV: "development", HOST: "0.0.0.0" }).http.host).toBe("0.0.0.0");
		expect(loadConfig({ NODE_ENV: "production", AUTH_PUBLIC_KEYS_FILE: "/keys.json", SERVICES: "api" }).http.host).toBe("0.0.0.0");
	});

	it("treats an unset NODE_ENV as development", () => {
		const config = loadConfig({});
		expect(config.env).toBe("development");
		expect(config.log.format).toBe("pretty");
	});

	it("uses JSON logs and no CORS origins by default in production", () => {
		const config = loadConfig({ NODE_ENV: "production", AUTH_KEYS_FILE: "/run/keys.json" });
		expect(config.log.format).toBe("json");
		expect(config.http.corsOrigins).toEqual([]);
	});

	it("requires signing keys in production only where the auth service runs", () => {
		expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/AUTH_KEYS_FILE: is required in production/);
		expect(() => loadConfig({ NODE_ENV: "production", SERVICES: "system,auth" })).toThrow(/AUTH_KEYS_FILE/);
		expect(loadConfig({ NODE_ENV: "production", SERVICES: "system" }).auth.keysFile).toBeUndefined();
		expect(loadConfig({}).auth.keysFile).toBeUndefined();
	});

	it("requires pinned public keys in production on nodes that verify tokens without signing them", () => {
		expect(() => loadConfig({ NODE_ENV: "production", SERVICES: "api" })).toThrow(/AUTH_PUBLIC_KEYS_FILE: is required in production/);
		expect(loadConfig({ NODE_ENV: "production", SERVICES: "api", AUTH_PUBLIC_KEYS_FILE: "/keys/public.json" }).auth.publicKeysFile).toBe("/keys/public.json");
		expect(loadConfig({ SERVICES: "api" }).auth.publicKeysFile).toBeUndefined();
	});

	it("refuses a production cluster whose nodes would each keep revocations and limits to themselves", () => {
		const cluster = { NODE_ENV: "production", SERVICES: "system", TRANSPORTER: "nats://nats:4222" };
		expect(() => loadConfig(cluster)).toThrow(/STORE_URL: must be a shared redis:\/\/ store/);
		expect(loadConfig({ ...cluster, REDIS_URL: "redis://redis:6379" }).storeUrl).toBe("redis://redis:6379");
		expect(loadConfig({ ...cluster, NODE_ENV: "development" }).storeUrl).toBe("memory://");
	});

	it("traces a share of requests between 0 and 1, every one unless told", () => {
		expect(loadConfig({}).tracing.sampleRate).toBe(1);
		expect(loadConfig({ TRACING_SAMPLE_RATE: "0.01" }).tracing.sampleRate).toBe(0.01);
		for (const rate of ["1.5", "-0.1", "NaN"]) expect(() => loadConfig({ TRACING_SAMPLE_RATE: rate })).toThrow(/TRACING_SAMPLE_RATE/);
	});

	it("takes the admin bootstrap only as a pair", () => {
		expect(() => loadConfig({ ADMIN_EMAIL: "ops@example.com" })).toThrow(/ADMIN_PASSWORD: ADMIN_EMAIL and ADMIN_PASSWORD go together/);
		expect(loadConfig({ ADMIN_EMAIL: "ops@example.com", ADMIN_PASSWORD: "long enough pass" }).auth.admin).toEqual({ email: "ops@example.com", password: "long enough pass" });
	});

	it("lets REDIS_URL switch on every Redis-backed adapter, and specific URLs win", () => {
		const config = loadConfig({ REDIS_URL: "redis://cache:6379", STORE_URL: "memory://" });
		expect(config.cacheUrl).toBe("redis://cache:6379");
		expect(config.storeUrl).toBe("memory://");
	});

	it("names every invalid variable in one error", () => {
		let error: unknown;
		try {
			loadConfig({ PORT: "eighty", TRANSPORTER: "carrier-pigeon://x", LOG_LEVEL: "loud", DATABASE_URL: "mysql://x" });
		} catch (err) {
			error = err;
		}
		expect(error).toBeInstanceOf(ConfigError);
		expect(Object.keys((error as ConfigError).problems).sort()).toEqual(["DATABASE_URL", "LOG_LEVEL", "PORT", "TRANSPORTER"]);
		expect((error as ConfigError).message).toMatch(/TRANSPORTER: scheme "carrier-pigeon"/);
	});

	it("parses lists and accepts the transporter forms Moleculer knows", () => {
		const config = loadConfig({ SERVICES: " api, system ,", TRANSPORTER: "nats://127.0.0.1:4222" });
		expect(config.services).toEqual(["api", "system"]);
		expect(config.transporter).toBe("nats://127.0.0.1:4222");
		expect(loadConfig({ TRANSPORTER: "tcp" }).transporter).toBe("TCP");
	});

	it("lets a service override the database URL, and validates the override", () => {
		const config = loadConfig({ DATABASE_URL: "postgres://db/main", USERS_DATABASE_URL: "postgres://db/users" });
		expect(config.databaseUrlFor("users")).toBe("postgres://db/users");
		expect(config.databaseUrlFor("audit")).toBe("postgres://db/main");
		const broken = loadConfig({ AUDIT_DATABASE_URL: "http://nope" });
		expect(() => broken.databaseUrlFor("audit")).toThrow(/AUDIT_DATABASE_URL/);
	});

	it("never prints a password from a URL", () => {
		expect(redactUrl("postgres://app:s3cret@db:5432/x")).toBe("postgres://app:***@db:5432/x");
		// Redis's password-only form has no user name.
		expect(redactUrl("redis://:s3cret@cache:6379")).toBe("redis://:***@cache:6379");
		expect(redactUrl("nats://nats:4222")).toBe("nats://nats:4222");
	});
});
