/**
 * Time from launching the one-process embedded system to /health/ready = 200, on a fresh DATA_DIR
 * (first start: creates the embedded database) and on a reused one (every later start), and its
 * resident memory once idle.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { freePort, residentMemoryMb, ROOT, startProcess, stopProcess, tempDataDir, waitForHttp } from "./support";

export interface StartupBenchResult {
	firstStartMs: number;
	restartMs: number;
	buildCheckMs: number;
	idleRssMb: number;
	idleAfterSeconds: number;
}

async function startOnce(dataDir: string, idleSeconds: number) {
	const port = await freePort();
	const child = startProcess("platform/runtime/start.js", { PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir, LOG_LEVEL: "warn", NODE_ENV: "development" });
	try {
		const readyMs = await waitForHttp(`http://127.0.0.1:${port}/health/ready`, 120_000);
		let rss = NaN;
		if (idleSeconds > 0) {
			await new Promise(resolve => setTimeout(resolve, idleSeconds * 1000));
			rss = residentMemoryMb(child.pid!);
		}
		return { readyMs, rss };
	} finally {
		await stopProcess(child);
	}
}

export async function benchStartup(opts: { idleSeconds?: number } = {}): Promise<StartupBenchResult> {
	const idleSeconds = opts.idleSeconds ?? 10;
	// `npm start` runs `tsc -b` first; on an up-to-date build that is a check, timed here.
	const buildStarted = performance.now();
	execFileSync(path.join(ROOT, "node_modules", ".bin", "tsc"), ["-b"], { cwd: ROOT, stdio: "ignore" });
	const buildCheckMs = performance.now() - buildStarted;

	const dataDir = tempDataDir();
	const first = await startOnce(dataDir, 0);
	const second = await startOnce(dataDir, idleSeconds);
	return {
		firstStartMs: Math.round(first.readyMs),
		restartMs: Math.round(second.readyMs),
		buildCheckMs: Math.round(buildCheckMs),
		idleRssMb: second.rss,
		idleAfterSeconds: idleSeconds,
	};
}
