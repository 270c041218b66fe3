/**
 * One process at a time may open an embedded database folder. PGlite does not stop a second
 * process from opening the same folder: both then write to it, and what one of them does silently
 * vanishes (seen with `npm run repl` beside a running `npm start`). A lock file names the holder;
 * one whose process is gone (a crash, a kill -9) no longer counts.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { isSameProcess, processStartTime } from "../runtime/process-identity";

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
				'Only one process may open it: stop that one first, or run both with TRANSPORTER set so one joins the other (README, "Operators\' console").',
		);
		this.name = "EmbeddedDatabaseInUseError";
	}
}

const isRunning = (holder: Holder) => isSameProcess(holder.pid, holder.startTime);

type Read = { kind: "holder"; holder: Holder } | { kind: "missing" } | { kind: "unreadable" };

function readLock(file: string): Read {
	try {
		const holder = JSON.parse(fs.readFileSync(file, "utf8")) as Holder;
		return typeof holder?.pid === "number" ? { kind: "holder", holder } : { kind: "unreadable" };
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === "ENOENT" ? { kind: "missing" } : { kind: "unreadable" };
	}
}

const sameHolder = (a: Holder, b: Holder) => a.pid === b.pid && a.since === b.since && a.startTime === b.startTime;

function pause(ms: number): void {
	Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Takes the folder's lock or throws EmbeddedDatabaseInUseError; returns the release. The lock file
 * appears whole or not at all (written aside, then hard-linked into place, which fails if one
 * exists), so a reader never sees a half-written one; a stale lock is removed under a takeover
 * mark, so two processes cleaning up at once cannot delete the lock a third has just taken.
 */
export function lockFolder(dataDir: string): () => void {
	const file = path.join(dataDir, LOCK_FILE);
	const me: Holder = {
		pid: process.pid,
		startTime: processStartTime(process.pid),
		command:
			process.argv
				.slice(1)
				.map(arg => path.basename(arg))
				.join(" ") || "node",
		since: new Date().toISOString(),
	};
	const mine = `${file}.${process.pid}.${randomUUID().slice(0, 8)}`;
	const takeover = `${file}.takeover`;
	fs.writeFileSync(mine, JSON.stringify(me));
	try {
		for (let attempt = 0; attempt < 100; attempt++) {
			try {
				fs.linkSync(mine, file);
				return () => {
					const current = readLock(file);
					// Only our own lock: a process that took over a stale one must keep it.
					if (current.kind === "holder" && sameHolder(current.holder, me)) fs.rmSync(file, { force: true });
				};
			} catch (err) {
				if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
			}
			const current = readLock(file);
			if (current.kind === "missing") continue;
			// Written by a version or tool that does not link: give it a moment to finish.
			if (current.kind === "unreadable") {
				pause(20);
				continue;
			}
			if (isRunning(current.holder)) throw new EmbeddedDatabaseInUseError(dataDir, current.holder);
			// A stale lock is removed only by whoever holds the takeover mark, and only if it is still the
			// same stale lock: a contender that read it before someone else replaced it must not delete
			// the live lock now in its place.
			try {
				fs.linkSync(mine, takeover);
			} catch (err) {
				if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
				// A mark left by a process that died in these few lines would block everyone.
				const mark = fs.statSync(takeover, { throwIfNoEntry: false });
				if (mark && Date.now() - mark.mtimeMs > 10_000) fs.rmSync(takeover, { force: true });
				pause(10);
				continue;
			}
			try {
				const again = readLock(file);
				if (again.kind === "holder" && sameHolder(again.holder, current.holder)) fs.rmSync(file, { force: true });
			} finally {
				fs.rmSync(takeover, { force: true });
			}
		}
		throw new Error(`Could not take the lock ${file}`);
	} finally {
		fs.rmSync(mine, { force: true });
	}
}
