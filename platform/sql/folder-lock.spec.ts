import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { EmbeddedDatabaseInUseError, LOCK_FILE, lockFolder } from "./folder-lock";

describe("embedded database folder lock", () => {
	let dir: string;
	beforeEach(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "lootopia-lock-"));
	});
	afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

	it("lets one holder in and names it to the next, until it lets go", () => {
		const release = lockFolder(dir);
		const refusal = (() => {
			try {
				lockFolder(dir);
			} catch (err) {
				return err;
			}
		})();
		expect(refusal).toBeInstanceOf(EmbeddedDatabaseInUseError);
		expect((refusal as Error).message).toContain(`pid ${process.pid}`);
		release();
		expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
		lockFolder(dir)();
	});

	it("takes over the lock of a process that is gone (a crash, a kill -9)", async () => {
		const gone = spawn("true");
		await new Promise(resolve => gone.once("exit", resolve));
		fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: gone.pid, command: "node start.js", since: "2026-01-01T00:00:00.000Z" }));
		const release = lockFolder(dir);
		expect(JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), "utf8")).pid).toBe(process.pid);
		release();
	});

	it("does not count a live process whose start time differs (its pid was reused)", () => {
		fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, startTime: "1", command: "node start.js", since: "2026-01-01T00:00:00.000Z" }));
		// Start times are read from /proc; elsewhere a live pid always counts.
		if (fs.existsSync(`/proc/${process.pid}/stat`)) expect(() => lockFolder(dir)()).not.toThrow();
		else expect(() => lockFolder(dir)).toThrow(EmbeddedDatabaseInUseError);
	});

	/** Six processes try at the same instant; each says whether it won. */
	async function race(): Promise<string[]> {
		const startAt = Date.now() + 1_500;
		const contender = path.join(__dirname, "../../test/support/lock-contender.ts");
		const results = await Promise.all(
			Array.from({ length: 6 }, () => {
				const child = spawn(process.execPath, ["--import", "tsx", contender, dir, String(startAt)], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, NODE_OPTIONS: "" } });
				let out = "";
				child.stdout!.on("data", chunk => (out += chunk));
				return new Promise<string>(resolve => child.once("exit", () => resolve(out.trim())));
			}),
		);
		return results.sort();
	}

	it("lets exactly one of six processes starting at once take a free lock", async () => {
		expect(await race()).toEqual(["lost", "lost", "lost", "lost", "lost", "won"]);
	}, 30_000);

	it("lets exactly one of six processes take over a stale lock at once", async () => {
		const gone = spawn("true");
		await new Promise(resolve => gone.once("exit", resolve));
		fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: gone.pid, command: "node start.js", since: "2026-01-01T00:00:00.000Z" }));
		expect(await race()).toEqual(["lost", "lost", "lost", "lost", "lost", "won"]);
	}, 30_000);
});
