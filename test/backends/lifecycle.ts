/**
 * Bringing servers up and down, for the CLI and for tests that stop and restart a server of their own.
 */
import fs from "node:fs";
import { log } from "./host";
import { probeBackend } from "./probes";
import type { BackendServer } from "./servers";

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

async function waitUntilReady(server: BackendServer, startedAt: number): Promise<string | undefined> {
	let reason: string | undefined;
	while (Date.now() - startedAt < server.readyTimeoutMs) {
		reason = await probeBackend(server.kind, server.url, 5_000);
		if (!reason) return undefined;
		// PostgreSQL is started by pg_ctlcluster, which returns once the server runs.
		if (server.kind !== "postgres" && !server.pid()) return `exited during start-up (see ${server.logFile})`;
		await sleep(250);
	}
	return `not ready after ${server.readyTimeoutMs / 1000} s: ${reason}`;
}

function tail(file: string, lines = 25): string {
	try {
		return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
	} catch {
		return "(no log)";
	}
}

/** Starts what does not answer yet and waits for each; true when all of them answer. */
export async function bringUp(servers: BackendServer[], quiet = false): Promise<boolean> {
	const say = quiet ? () => undefined : log;
	const toStart = new Set<BackendServer>();
	const toWatch: BackendServer[] = [];
	for (const server of servers) {
		if (!(await probeBackend(server.kind, server.url, 3_000))) {
			await server.afterReady?.();
			say(`${server.name} already up at ${server.url}`);
			continue;
		}
		// Its process runs: starting, or busy on a loaded machine. Give it its full start-up time
		// before deciding it is stuck; a healthy server must not be killed over one slow answer.
		if (server.pid()) toWatch.push(server);
		else {
			server.prepare();
			toStart.add(server);
		}
	}
	// Installs run one at a time (apt and Maven lock); the servers then start together.
	const results = await Promise.all(
		[...toWatch, ...toStart].map(async server => {
			let startedAt = Date.now();
			if (toStart.has(server)) server.start();
			let failure = await waitUntilReady(server, startedAt);
			if (failure && !toStart.has(server)) {
				say(`${server.name} runs but does not answer (${failure}); restarting it`);
				await server.stop();
				server.prepare();
				startedAt = Date.now();
				server.start();
				failure = await waitUntilReady(server, startedAt);
			}
			if (!failure) await server.afterReady?.();
			const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
			if (failure) log(`${server.name} FAILED: ${failure}\n--- last lines of ${server.logFile}\n${tail(server.logFile)}\n---`);
			else say(`${server.name} ready at ${server.url} in ${seconds} s`);
			return !failure;
		}),
	);
	return results.every(Boolean);
}

export async function bringDown(servers: BackendServer[], quiet = false): Promise<void> {
	for (const server of [...servers].reverse()) {
		if (!server.pid()) continue;
		await server.stop();
		if (!quiet) log(`${server.name} stopped`);
	}
}
