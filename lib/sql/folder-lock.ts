/**
 * One process at a time may open an embedded database folder. PGlite does not stop a second
 * process from opening the same folder: both then write to it, and what one of them does silently
 * vanishes (seen with `npm run repl` beside a running `npm start`). A lock file names the holder;
 * one whose process is gone (a crash, a kill -9) no longer counts.
 */
import fs from "node:fs";
import path from "node:path";

export const LOCK_FILE = "lootopia.lock";

interface Holder {
	pid: number;
	/** The kernel's start time of the process (Linux), so a pid reused after a reboot does not count. */
	startTime?: string;
	command: string;
	since: string;
}

export class EmbeddedDatabaseInUseError extends Error {
	constructor(
		readonly dataDir: string,
		readonly holder: Holder,
	) {
		super(
			`The embedded database in ${dataDir} is in use by another process (pid ${holder.pid}, ${holder.command}, since ${holder.since}). ` +
				"Only one process may open it: stop that one first, or run both with TRANSPORTER set so one joins the other (README, \"Operators' console\").",
		);
		this.name = "EmbeddedDatabaseInUseError";
	}
}

function startTimeOf(pid: number): string | undefined {
	try {
		return fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[19];
	} catch {
		return undefined;
	}
}

function isRunning(holder: Holder): boolean {
	try {
		process.kill(holder.pid, 0);
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
	}
	return !holder.startTime || !startTimeOf(holder.pid) || startTimeOf(holder.pid) === holder.startTime;
}

function readHolder(file: string): Holder | undefined {
	try {
		return JSON.parse(fs.readFileSync(file, "utf8")) as Holder;
	} catch {
		return undefined;
	}
}

/** Takes the folder's lock or throws EmbeddedDatabaseInUseError; returns the release. */
export function lockFolder(dataDir: string): () => void {
	const file = path.join(dataDir, LOCK_FILE);
	const me: Holder = { pid: process.pid, startTime: startTimeOf(process.pid), command: process.argv.slice(1).map(arg => path.basename(arg)).join(" ") || "node", since: new Date().toISOString() };
	for (let attempt = 0; attempt < 2; attempt++) {
		try {
			fs.writeFileSync(file, JSON.stringify(me), { flag: "wx" });
			return () => {
				// Only our own lock: a process that took over a stale one must keep it.
				if (readHolder(file)?.pid === me.pid && readHolder(file)?.since === me.since) fs.rmSync(file, { force: true });
			};
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
			const holder = readHolder(file);
			if (holder && isRunning(holder)) throw new EmbeddedDatabaseInUseError(dataDir, holder);
			// Its holder is gone: the lock is stale.
			fs.rmSync(file, { force: true });
		}
	}
	throw new Error(`Could not take the lock ${file}`);
}
