/**
 * A process named for good: its pid together with the kernel's start time, so a pid reused after a
 * reboot (or seen from another pid namespace) never passes for the process that wrote it down. Used
 * by the embedded database's folder lock and the test backends' pid files.
 */
import fs from "node:fs";

/** Field 22 of /proc/<pid>/stat (Linux), counted after the command name, which may contain spaces. */
export function processStartTime(pid: number): string | undefined {
	try {
		return fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[19];
	} catch {
		return undefined;
	}
}

/** True while the pid exists, also when it belongs to another user (EPERM). */
export function isProcessAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === "EPERM";
	}
}

/** Is `pid` still the process that had `startTime`? Without a start time to compare, a live pid counts. */
export function isSameProcess(pid: number, startTime: string | undefined): boolean {
	if (!isProcessAlive(pid)) return false;
	const current = startTime ? processStartTime(pid) : undefined;
	return !startTime || !current || current === startTime;
}
