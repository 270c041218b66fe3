import fs from "node:fs";
import net from "node:net";
import { openPGlite } from "../../lib/sql/pglite-client";
import { PGLITE_TEMPLATE_DIR } from "../support/sql";
import { BackendName, BackendStatus, TEST_BACKEND_DEFAULTS } from "../support/backends";

/** Backends every CI machine has; with CI=true their absence fails the run. */
const REQUIRED_IN_CI: BackendName[] = ["postgres", "redis", "nats"];

function defaultPort(protocol: string): number {
	return ({ "postgres:": 5432, "postgresql:": 5432, "redis:": 6379, "nats:": 4222, "kafka:": 9092, "bolt:": 7687, "neo4j:": 7687, "http:": 80, "https:": 443 } as Record<string, number>)[protocol] ?? 0;
}

/** A TCP connect is enough to tell "not running" from "running"; the suites then test for real. */
function probe(url: string, timeoutMs = 1500): Promise<string | undefined> {
	const firstUrl = url.split(",")[0];
	let host: string;
	let port: number;
	try {
		const parsed = new URL(firstUrl.includes("://") ? firstUrl : `kafka://${firstUrl}`);
		host = parsed.hostname;
		port = Number(parsed.port) || defaultPort(parsed.protocol);
	} catch {
		return Promise.resolve(`has an invalid URL ${url}`);
	}
	return new Promise(resolve => {
		const socket = net.connect({ host, port });
		const done = (reason?: string) => {
			socket.destroy();
			resolve(reason);
		};
		socket.setTimeout(timeoutMs, () => done(`did not answer at ${host}:${port} within ${timeoutMs} ms`));
		socket.once("connect", () => done(undefined));
		socket.once("error", err => done(`is unreachable at ${host}:${port} (${(err as NodeJS.ErrnoException).code ?? err.message})`));
	});
}

/** initdb once per machine; test files copy the folder (see test/support/sql.ts). */
async function preparePGliteTemplate(): Promise<void> {
	if (fs.existsSync(`${PGLITE_TEMPLATE_DIR}/PG_VERSION`)) return;
	fs.rmSync(PGLITE_TEMPLATE_DIR, { recursive: true, force: true });
	const tmp = `${PGLITE_TEMPLATE_DIR}.${process.pid}`;
	const db = await openPGlite(tmp);
	await db.close();
	fs.renameSync(tmp, PGLITE_TEMPLATE_DIR);
}

export default async function globalSetup(): Promise<void> {
	await preparePGliteTemplate();
	const statuses: Partial<Record<BackendName, BackendStatus>> = {};
	for (const [name, url] of Object.entries(TEST_BACKEND_DEFAULTS) as [BackendName, string | undefined][]) {
		if (!url) {
			statuses[name] = { available: false, url: "", reason: `has no URL (set TEST_${name.toUpperCase()}_URL to test against one)` };
			continue;
		}
		const reason = await probe(url);
		statuses[name] = { available: !reason, url, reason };
	}
	process.env.LOOTOPIA_TEST_BACKENDS = JSON.stringify(statuses);

	const missing = Object.entries(statuses).filter(([, s]) => !s.available);
	if (missing.length) {
		process.stdout.write(`\nBackends skipped in this run:\n${missing.map(([n, s]) => `  - ${n} ${s.reason}`).join("\n")}\n`);
	}
	if (process.env.CI === "true") {
		const missingRequired = REQUIRED_IN_CI.filter(name => !statuses[name]?.available);
		if (missingRequired.length) {
			throw new Error(`CI=true but these backends are unreachable: ${missingRequired.map(n => `${n} ${statuses[n]?.reason}`).join("; ")}`);
		}
	}
}
