/**
 * npm run backends -- up|down|restart|status [name ...]
 *
 * Brings up (or down) the real servers the adapter suites test against: PostgreSQL, Redis, NATS
 * with JetStream, Kafka, Neo4j and OpenSearch, on 127.0.0.1 at their standard ports. Idempotent: a
 * server that already answers is left alone. `up` returns once each one answered a real query (see
 * probes.ts) and exits non-zero naming those that did not, with the tail of their logs.
 * `npm start` needs none of this; it runs on embedded backends.
 */
import fs from "node:fs";
import { BACKENDS_DIR, LOGS_DIR, residentMiB } from "./host";
import { bringDown, bringUp } from "./lifecycle";
import { BACKEND_NAMES, probeBackend, type BackendName } from "./probes";
import { SERVERS, type BackendServer } from "./servers";

async function status(servers: BackendServer[]): Promise<boolean> {
	const rows = await Promise.all(
		servers.map(async server => {
			const reason = await probeBackend(server.kind, server.url, 3_000);
			const pid = server.pid();
			const rss = pid ? residentMiB(pid) : undefined;
			return { server, reason, pid, rss };
		}),
	);
	for (const { server, reason, pid, rss } of rows) {
		const state = reason ? `DOWN ${reason}` : "ready";
		process.stdout.write(
			`${server.name.padEnd(11)} ${state.padEnd(7)} ${server.url.padEnd(42)} ${pid ? `pid ${pid}` : "no process"}${rss ? `, ${rss} MiB resident` : ""}\n${" ".repeat(12)}log ${server.logFile}\n`,
		);
	}
	process.stdout.write(`data and libraries under ${BACKENDS_DIR}, logs under ${LOGS_DIR} (PostgreSQL: Debian's cluster)\n`);
	return rows.every(row => !row.reason);
}

async function main(): Promise<number> {
	const [command, ...names] = process.argv.slice(2);
	const unknown = names.filter(name => !BACKEND_NAMES.includes(name as BackendName));
	if (!command || !["up", "down", "restart", "status"].includes(command) || unknown.length) {
		process.stderr.write(`usage: npm run backends -- up|down|restart|status [${BACKEND_NAMES.join("|")} ...]\n${unknown.length ? `unknown backend: ${unknown.join(", ")}\n` : ""}`);
		return 2;
	}
	const servers = (names.length ? names : BACKEND_NAMES).map(name => SERVERS[name as BackendName]);
	fs.mkdirSync(LOGS_DIR, { recursive: true });
	switch (command) {
		case "up":
			return (await bringUp(servers)) ? 0 : 1;
		case "down":
			await bringDown(servers);
			return 0;
		case "restart":
			await bringDown(servers);
			return (await bringUp(servers)) ? 0 : 1;
		default:
			return (await status(servers)) ? 0 : 3;
	}
}

main().then(
	code => process.exit(code),
	err => {
		process.stderr.write(`backends: ${err instanceof Error ? err.message : String(err)}\n`);
		process.exit(1);
	},
);
