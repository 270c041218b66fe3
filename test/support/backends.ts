/**
 * Which real backends the test run can reach. The probing (a real query each, see
 * test/backends/probes.ts) happens once, in the jest global setup, and its verdict travels to the
 * workers through LOOTOPIA_TEST_BACKENDS. Outside CI a missing backend skips its suites with the
 * reason printed; with CI=true the global setup fails the run instead, so a green CI means every
 * adapter ran against its real server.
 */
import type { BackendName } from "../backends/probes";

export type { BackendName };

export interface BackendStatus {
	available: boolean;
	url: string;
	reason?: string;
}

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
