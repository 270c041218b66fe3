import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readPid, spawnDetached, stopProcess } from "./host";

describe("pid files of the backends CLI", () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lootopia-pidfile-"));
	afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

	it("name the process they started, and nothing once it is gone", async () => {
		const pidFile = path.join(dir, "sleeper.pid");
		const pid = spawnDetached("sleep", ["30"], { logFile: path.join(dir, "sleeper.log"), pidFile });
		expect(readPid(pidFile)).toBe(pid);
		await stopProcess(pid, 5_000);
		expect(readPid(pidFile)).toBeUndefined();
	});

	it("never name a live process whose start time differs (a pid reused after a reboot)", async () => {
		const other = spawn("sleep", ["30"], { stdio: "ignore" });
		try {
			const pidFile = path.join(dir, "stale.pid");
			fs.writeFileSync(pidFile, `${other.pid} 1\n`);
			expect(readPid(pidFile)).toBeUndefined();
			// A pid file without a start time (PostgreSQL's own) is taken as it is.
			fs.writeFileSync(pidFile, `${other.pid}\n/var/lib/postgresql\n`);
			expect(readPid(pidFile)).toBe(other.pid);
		} finally {
			other.kill("SIGKILL");
		}
	});

	it("refuse to start a command that does not exist, instead of writing a pid file", () => {
		const pidFile = path.join(dir, "missing.pid");
		expect(() => spawnDetached("lootopia-no-such-server", [], { logFile: path.join(dir, "missing.log"), pidFile })).toThrow("not found");
		expect(fs.existsSync(pidFile)).toBe(false);
	});
});
