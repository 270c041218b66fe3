/**
 * A lock across jest workers (separate processes) on this machine, for what only one test may use
 * at a time: a fixed port, say. A directory is created atomically or not at all; the owner's pid in
 * it lets a lock left by a worker that died be taken over.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const LOCKS = path.join(os.tmpdir(), "lootopia-test-locks");

/** Waits for the lock named `name`; resolves the function that releases it. */
export async function exclusively(name: string, timeoutMs = 600_000): Promise<() => void> {
	const dir = path.join(LOCKS, name);
	fs.mkdirSync(LOCKS, { recursive: true });
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		try {
			fs.mkdirSync(dir);
			fs.writeFileSync(path.join(dir, "pid"), String(process.pid));
			return () => fs.rmSync(dir, { recursive: true, force: true });
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
		}
		if (!ownerAlive(dir)) {
			fs.rmSync(dir, { recursive: true, force: true });
			continue;
		}
		if (Date.now() > deadline) throw new Error(`${name} stayed locked for ${timeoutMs} ms (by pid ${readOwner(dir)})`);
		await new Promise(resolve => setTimeout(resolve, 200));
	}
}

function readOwner(dir: string): number | undefined {
	try {
		return Number(fs.readFileSync(path.join(dir, "pid"), "utf8")) || undefined;
	} catch {
		return undefined;
	}
}

function ownerAlive(dir: string): boolean {
	const pid = readOwner(dir);
	// Created but its pid not written yet: the owner is alive, a moment away from writing it.
	if (pid === undefined) return fs.existsSync(dir) && Date.now() - fs.statSync(dir).mtimeMs < 5_000;
	try {
		process.kill(pid, 0);
		return true;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === "EPERM";
	}
}

/**
 * Kafka, held by one test file at a time where it matters: its advertised proxied port is fixed
 * (tests that cut a proxy in front of it), and a broker busy with another file's consumer groups
 * lets new groups join so slowly that a delivery waited for times out.
 */
export const KAFKA_LOCK = "kafka";
