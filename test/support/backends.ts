/**
 * Which real backends the test run can reach. The probing happens once, in the jest global
 * setup (test/setup/global-setup.ts), and its verdict travels to the workers through
 * LOOTOPIA_TEST_BACKENDS. Outside CI a missing backend skips its suites with the reason printed;
 * with CI=true the global setup fails the run instead, so a green CI means the adapters ran.
 */
export type BackendName = "postgres" | "redis" | "nats" | "kafka" | "neo4j" | "opensearch";

export interface BackendStatus {
	available: boolean;
	url: string;
	reason?: string;
}

export const TEST_BACKEND_DEFAULTS: Record<BackendName, string | undefined> = {
	postgres: process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
	redis: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
	nats: process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222",
	// These servers cannot run on the development machines: only probed when a URL is given.
	kafka: process.env.TEST_KAFKA_URL,
	neo4j: process.env.TEST_NEO4J_URL,
	opensearch: process.env.TEST_OPENSEARCH_URL,
};

export function backend(name: BackendName): BackendStatus {
	const all = JSON.parse(process.env.LOOTOPIA_TEST_BACKENDS ?? "{}") as Partial<Record<BackendName, BackendStatus>>;
	return all[name] ?? { available: false, url: "", reason: "not probed (run through jest so the global setup runs)" };
}

/** `describe` when the backend is reachable, otherwise a skipped block whose title says why. */
export function describeWithBackend(name: BackendName, title: string, body: (status: BackendStatus) => void): void {
	const status = backend(name);
	if (status.available) {
		describe(title, () => body(status));
	} else {
		describe.skip(`${title} [skipped: ${name} ${status.reason ?? "unreachable"}]`, () => body(status));
	}
}
