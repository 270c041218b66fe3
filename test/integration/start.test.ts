/**
 * `npm start` as an operator meets it: a bad variable stops start-up naming it; a good start serves
 * health and, when switched on, Prometheus metrics.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import fs from "node:fs";
import { eventually, freePort, prepareDataDir } from "../support/node";
import { rotateKeyFile } from "../../platform/identity/key-store";

const ROOT = path.resolve(__dirname, "..", "..");

function run(env: Record<string, string>) {
	const child = spawn(process.execPath, ["--import", "tsx", "platform/runtime/start.ts"], {
		cwd: ROOT,
		env: { ...process.env, NODE_OPTIONS: "", LOG_LEVEL: "warn", ...env },
		stdio: ["ignore", "pipe", "pipe"],
	});
	let output = "";
	child.stdout.on("data", chunk => (output += chunk));
	child.stderr.on("data", chunk => (output += chunk));
	const exited = new Promise<number | null>(resolve => child.once("exit", code => resolve(code)));
	return { child, exited, output: () => output };
}

it("refuses to start with an invalid variable, naming it", async () => {
	const node = run({ PORT: "eighty", TRANSPORTER: "pigeon://coop", DATA_DIR: "/nonexistent" });
	expect(await node.exited).toBe(1);
	expect(node.output()).toMatch(/PORT: /);
	expect(node.output()).toMatch(/TRANSPORTER: scheme "pigeon"/);
	expect(node.output()).not.toMatch(/at .*\.ts:\d+/);
});

it("refuses to start in production without signing keys, naming the variable", async () => {
	const node = run({ NODE_ENV: "production", DATA_DIR: prepareDataDir() });
	expect(await node.exited).toBe(1);
	expect(node.output()).toMatch(/AUTH_KEYS_FILE: is required in production/);
});

it("refuses an unknown service name in SERVICES", async () => {
	const node = run({ SERVICES: "api,treasure-chest", DATA_DIR: prepareDataDir() });
	expect(await node.exited).toBe(1);
	expect(node.output()).toMatch(/SERVICES: unknown service\(s\) treasure-chest/);
});

it("serves Prometheus metrics and JSON logs in production mode, and exits cleanly on SIGTERM", async () => {
	const port = await freePort();
	const metricsPort = await freePort();
	const dataDir = prepareDataDir();
	const keysFile = path.join(dataDir, "signing-keys.json");
	await rotateKeyFile(keysFile);
	const node = run({
		NODE_ENV: "production",
		LOG_LEVEL: "info",
		PORT: String(port),
		HOST: "127.0.0.1",
		METRICS_ENABLED: "true",
		METRICS_PORT: String(metricsPort),
		DATA_DIR: dataDir,
		AUTH_KEYS_FILE: keysFile,
	});
	try {
		await eventually(
			async () => {
				const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
				if (res.status !== 200) throw new Error(String(res.status));
			},
			{ timeoutMs: 60_000, intervalMs: 200 },
		);
		await fetch(`http://127.0.0.1:${port}/api/ping`);
		const metrics = await eventually(async () => {
			const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
			// Request counts reach the registry once a second (platform/moleculer/metrics.ts).
			if (!/moleculer_request_total\{[^}]*action="system\.ping"/.test(text)) throw new Error("ping not counted yet");
			return text;
		});
		expect(metrics).toMatch(/moleculer_request_total\{[^}]*action="system\.ping"[^}]*\} 1/);
		// Request times as buckets, from which Prometheus derives quantiles; none computed in the node,
		// whose sample window made each scrape sort a minute of samples.
		expect(metrics).toMatch(/moleculer_request_time_bucket\{[^}]*action="system\.ping"[^}]*le="[^"]+"[^}]*\} 1/);
		expect(metrics).not.toMatch(/quantile="/);
		const firstLogLine = node
			.output()
			.split("\n")
			.find(line => line.trim().startsWith("{"));
		expect(firstLogLine).toBeDefined();
		expect(JSON.parse(firstLogLine!)).toEqual(expect.objectContaining({ level: expect.any(String), msg: expect.any(String) }));
	} finally {
		node.child.kill("SIGTERM");
		expect(await node.exited).toBe(0);
		fs.rmSync(dataDir, { recursive: true, force: true });
	}
});
