/**
 * One process per embedded database: a second `npm start` or a REPL without TRANSPORTER beside a
 * running server is refused with the holder named, instead of opening a second copy whose writes
 * vanish. The REPL never starts a gateway.
 */
import fs from "node:fs";
import path from "node:path";
import { replServices } from "../../platform/runtime/repl";
import { eventually, freePort, prepareDataDir } from "../support/node";
import { startScript, stopScript, type NodeProcess } from "../support/node-process";

describe("the embedded database belongs to one process", () => {
	const dataDir = prepareDataDir();
	let server: NodeProcess;
	afterAll(async () => {
		if (server) await stopScript(server);
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it("refuses a second server and a local REPL beside a running one, naming the holder", async () => {
		const port = await freePort();
		server = startScript("platform/runtime/start.ts", { DATA_DIR: dataDir, PORT: String(port), HOST: "127.0.0.1" });
		await eventually(
			async () => {
				const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
				if (res.status !== 200) throw new Error(`not ready: ${res.status}`);
			},
			{ timeoutMs: 60_000, intervalMs: 200 },
		);

		const second = startScript("platform/runtime/start.ts", { DATA_DIR: dataDir, PORT: String(await freePort()), HOST: "127.0.0.1" });
		expect(await second.exited).toBe(1);
		expect(second.output()).toContain(`is in use by another process (pid ${server.child.pid}`);

		const repl = startScript("platform/runtime/repl.ts", { DATA_DIR: dataDir });
		expect(await repl.exited).toBe(1);
		expect(repl.output()).toContain(`REPL failed: The embedded database in ${path.join(dataDir, "pg")} is in use by another process (pid ${server.child.pid}`);

		// The running server is untouched.
		expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
	}, 120_000);

	it("never starts a gateway in the REPL", () => {
		expect(replServices(["*"], false)).not.toContain("api");
		expect(replServices(["*"], false)).toEqual(expect.arrayContaining(["auth", "users", "partners", "audit"]));
		expect(replServices(["api", "auth"], false)).toEqual(["auth"]);
		expect(replServices(["*"], true)).toEqual(["system"]);
	});
});
