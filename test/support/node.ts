import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import { loadConfig, AppConfig } from "../../platform/config/env";
import { createNode } from "../../platform/runtime/broker";
import { PGLITE_TEMPLATE_DIR } from "./sql";

// Benchmarks and tests pick ports the same way.
import { freePort } from "../../bench/support";
export { freePort };

/** A DATA_DIR whose embedded database is a copy of the pre-initialised template (fast to open). */
export function prepareDataDir(): string {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lootopia-data-"));
	fs.cpSync(PGLITE_TEMPLATE_DIR, path.join(dataDir, "pg"), { recursive: true });
	return dataDir;
}

export interface TestNode {
	broker: ServiceBroker;
	config: AppConfig;
	baseUrl: string;
	dataDir: string;
	stop(): Promise<void>;
}

/** Polls until `check` passes or the deadline passes (then rethrows the last failure). */
export async function eventually<T>(check: () => Promise<T>, { timeoutMs = 10_000, intervalMs = 50 } = {}): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		try {
			return await check();
		} catch (err) {
			if (Date.now() > deadline) throw err;
			await new Promise(resolve => setTimeout(resolve, intervalMs));
		}
	}
}

/** The real node (same factory as `npm start`) on a free port and a throw-away data folder. */
export async function startTestNode(env: Record<string, string> = {}, opts: { waitReady?: boolean } = {}): Promise<TestNode> {
	const dataDir = prepareDataDir();
	const port = await freePort();
	const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: process.env.LOG_LEVEL ?? "warn", HOST: "127.0.0.1", PORT: String(port), DATA_DIR: dataDir, ...env });
	const broker = createNode(config, { skipProcessEventRegistration: true });
	await broker.start();
	const baseUrl = `http://127.0.0.1:${port}`;
	if (opts.waitReady !== false && config.services.some(s => s === "*" || s === "api")) {
		await eventually(async () => {
			const res = await fetch(`${baseUrl}/health/ready`);
			if (res.status !== 200) throw new Error(`not ready: ${res.status} ${await res.text()}`);
		});
	}
	return {
		broker,
		config,
		baseUrl,
		dataDir,
		stop: async () => {
			await broker.stop();
			fs.rmSync(dataDir, { recursive: true, force: true });
		},
	};
}
