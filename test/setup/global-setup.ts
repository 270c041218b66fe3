import fs from "node:fs";
import { openPGlite } from "../../platform/sql/pglite-client";
import { PGLITE_TEMPLATE_DIR } from "../support/sql";
import { BACKEND_NAMES, probeBackend, TEST_BACKEND_URLS } from "../backends/probes";
import type { BackendName, BackendStatus } from "../support/backends";

/** initdb once per machine; test files copy the folder (see test/support/sql.ts). */
async function preparePGliteTemplate(): Promise<void> {
	if (fs.existsSync(`${PGLITE_TEMPLATE_DIR}/PG_VERSION`)) return;
	fs.rmSync(PGLITE_TEMPLATE_DIR, { recursive: true, force: true });
	const tmp = `${PGLITE_TEMPLATE_DIR}.${process.pid}`;
	const db = await openPGlite(tmp);
	await db.close();
	fs.renameSync(tmp, PGLITE_TEMPLATE_DIR);
}

/**
 * Probes the six backends (each answers a real query or counts as missing). With CI=true every one
 * is required, so a green CI means every adapter ran; otherwise their suites are skipped and the
 * global teardown repeats why, with the command that brings them up, after jest's results.
 */
export default async function globalSetup(): Promise<void> {
	const [, entries] = await Promise.all([preparePGliteTemplate(), Promise.all(BACKEND_NAMES.map(async name => [name, await probeBackend(name, TEST_BACKEND_URLS[name])] as const))]);
	const statuses = Object.fromEntries(entries.map(([name, reason]) => [name, { available: !reason, url: TEST_BACKEND_URLS[name], reason }])) as Record<BackendName, BackendStatus>;
	process.env.LOOTOPIA_TEST_BACKENDS = JSON.stringify(statuses);

	const missing = entries.filter(([, reason]) => reason);
	if (!missing.length) return;
	const summary = `Backends missing, their suites skipped:\n${missing.map(([name, reason]) => `  - ${name} ${reason}`).join("\n")}\nBring them up with: npm run backends -- up${missing.length < BACKEND_NAMES.length ? ` ${missing.map(([name]) => name).join(" ")}` : ""}\n`;
	if (process.env.CI === "true") throw new Error(`CI=true requires every backend.\n${summary}`);
	process.env.LOOTOPIA_TEST_BACKENDS_SUMMARY = summary;
}
