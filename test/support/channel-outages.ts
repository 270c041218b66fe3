/**
 * The combinations "nothing accepted is lost" is proven on (test/integration/outbox.test.ts,
 * gameplay-durability.test.ts): each channels backend behind a TCP proxy a test can cut, and the
 * databases a node may keep its outbox in.
 */
import { KAFKA_PROXIED_LISTENER } from "../backends/servers";
import { backend } from "./backends";
import { prepareDataDir } from "./node";
import { scratchDatabase } from "./sql";

export interface ChannelsUnderTest {
	name: "embedded" | "redis" | "nats" | "kafka";
	/** Where the proxy forwards to, the port it must listen on (Kafka's advertised one), and the backend itself. */
	proxied?: { scheme: string; host: string; port: number; listenPort?: number; direct: string };
}

export function channelsUnderTest(): ChannelsUnderTest[] {
	const portOf = (url: string) => Number(new URL(url.replace(/^kafka:/, "http:")).port);
	const redis = backend("redis");
	const nats = backend("nats");
	const kafka = backend("kafka");
	return [
		// Embedded channels live in the service database itself: there is no backend to cut.
		{ name: "embedded" },
		{ name: "redis", proxied: redis.available ? { scheme: "redis", host: "127.0.0.1", port: portOf(redis.url), direct: redis.url } : undefined },
		{ name: "nats", proxied: nats.available ? { scheme: "nats", host: "127.0.0.1", port: portOf(nats.url), direct: nats.url } : undefined },
		{
			name: "kafka",
			proxied: { scheme: "kafka", host: "127.0.0.1", port: KAFKA_PROXIED_LISTENER.port, listenPort: KAFKA_PROXIED_LISTENER.advertisedPort, direct: kafka.url },
		},
	];
}

export interface DatabaseUnderTest {
	env: Record<string, string>;
	close(): Promise<void>;
}

/** PGlite (the DATA_DIR is the database: every node of a test gets the same one) and a scratch PostgreSQL database named `prefix_…`. */
export function databasesUnderTest(prefix: string): Array<{ name: string; backend?: "postgres"; open(): Promise<DatabaseUnderTest> }> {
	return [
		{ name: "PGlite", open: async () => ({ env: { DATA_DIR: prepareDataDir() }, close: async () => undefined }) },
		{
			name: "PostgreSQL",
			backend: "postgres",
			open: async () => {
				const database = await scratchDatabase(backend("postgres").url, prefix);
				return { env: { DATABASE_URL: database.url, DATA_DIR: prepareDataDir() }, close: database.drop };
			},
		},
	];
}
