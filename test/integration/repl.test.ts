/**
 * Our REPL commands against the node `npm start` builds. `cluster` asks every node's system.health,
 * which only operators and admins may call: the command signs it with the operator token the key
 * file gives, like the audit commands.
 */
import fs from "node:fs";
import type { ServiceBroker } from "moleculer";
import { loadConfig } from "../../platform/config/env";
import { createNode } from "../../platform/runtime/broker";
import { OperatorCallsMiddleware } from "../../platform/runtime/operator-token";
import { systemReplCommands as replCommands } from "../../services/system.repl";
import { prepareDataDir, startTestNode, type TestNode } from "../support/node";
import { rejectionOf } from "../support/async";

describe("REPL cluster command", () => {
	let node: TestNode;
	beforeAll(async () => {
		node = await startTestNode({ SERVICES: "api,auth" });
	});
	afterAll(() => node?.stop());

	it("shows this node ready with each backend, through the operator's token", async () => {
		const printed: string[] = [];
		const log = jest.spyOn(console, "log").mockImplementation((line: unknown) => void printed.push(String(line)));
		try {
			const table = (rows: string[][]) => rows.map(row => row.join(" | ")).join("\n");
			await replCommands[0].action(node.broker, {}, { table });
		} finally {
			log.mockRestore();
		}
		const rows = printed
			.join("\n")
			.split("\n")
			.map(line => line.split(" | "));
		// Without the token the row would read "degraded … health | unknown | Authentication is required".
		expect(rows[1].slice(0, 2)).toEqual([`${node.broker.nodeID} (this REPL)`, "ready"]);
		expect(rows.filter(row => row[3] === "database")).toEqual([expect.arrayContaining(["database", "up", "embedded"])]);
	});

	it("lists each local service's outbox: nothing waiting on a healthy node", async () => {
		const printed: string[] = [];
		const log = jest.spyOn(console, "log").mockImplementation((line: unknown) => void printed.push(String(line)));
		try {
			const table = (rows: string[][]) => rows.map(row => row.join(" | ")).join("\n");
			await replCommands.find(c => c.command === "outbox")!.action(node.broker, { options: { retry: true } }, { table });
		} finally {
			log.mockRestore();
		}
		expect(printed.join("\n").split("\n")).toEqual(["service | waiting | oldest | failed sends | latest failure", "auth | 0 | - | 0 | -"]);
	});

	it("is the only way in: system.health without a token is refused", async () => {
		expect(await rejectionOf(node.broker.call("system.health", {}))).toMatchObject({ code: 401, type: "UNAUTHENTICATED" });
	});
});

describe("REPL built-in call", () => {
	let broker: ServiceBroker;
	let dataDir: string;
	beforeAll(async () => {
		dataDir = prepareDataDir();
		const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "warn", DATA_DIR: dataDir, SERVICES: "auth" });
		// The REPL's node, as platform/runtime/repl.ts builds it.
		broker = createNode(config, { skipProcessEventRegistration: true }, { extraMiddlewares: [OperatorCallsMiddleware(config)] });
		await broker.start();
	});
	afterAll(async () => {
		await broker?.stop();
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it("signs moleculer-repl's own calls (meta $repl) with the operator token, and nothing else", async () => {
		// moleculer-repl's `call` command sets meta.$repl on every call it makes.
		const report = await broker.call<{ status: string }, Record<string, never>>("system.health", {}, { meta: { $repl: true } });
		expect(report.status).toBe("up");
		expect(await rejectionOf(broker.call("system.health", {}))).toMatchObject({ code: 401, type: "UNAUTHENTICATED" });
		// A call that brings its own token keeps it.
		expect(await rejectionOf(broker.call("system.health", {}, { meta: { $repl: true, accessToken: "not.a.token" } }))).toMatchObject({ code: 401, type: "INVALID_TOKEN" });
	});
});
