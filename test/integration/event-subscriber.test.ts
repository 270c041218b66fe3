/**
 * The README's "Subscribing to Lootopia's events" example, run as what it claims to be: a separate
 * Node process with nothing of ours but the cluster's address, namespace and serializer, joining a
 * real node over NATS and receiving a real event. The README shows the example's file verbatim,
 * which is checked here too, so the documentation cannot drift from the tested code.
 */
import fs from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { spawn, type ChildProcess } from "node:child_process";
import { describeWithBackend } from "../support/backends";
import { deleteNatsStreams } from "../support/nats";
import { httpClient } from "../support/http";
import { eventually, startTestNode, type TestNode } from "../support/node";

const ROOT = path.resolve(__dirname, "..", "..");
const EXAMPLE = path.join(ROOT, "test", "examples", "event-subscriber");

it("is shown verbatim in the README, with its package.json", () => {
	const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
	const blocks = [...readme.matchAll(/```(?:js|javascript|json)\n([\s\S]*?)```/g)].map(match => match[1]);
	expect(blocks).toContain(fs.readFileSync(path.join(EXAMPLE, "subscriber.mjs"), "utf8"));
	expect(blocks).toContain(fs.readFileSync(path.join(EXAMPLE, "package.json"), "utf8"));
});

describeWithBackend("nats", "a separate Node project subscribing over NATS", nats => {
	const namespace = `subscriber-${randomUUID().slice(0, 8)}`;
	let node: TestNode;
	let subscriber: ChildProcess;
	let output = "";
	const lines = () =>
		output
			.split("\n")
			.filter(line => line.startsWith("{"))
			.map(line => JSON.parse(line) as Record<string, unknown>);

	beforeAll(async () => {
		node = await startTestNode({ TRANSPORTER: nats.url, NAMESPACE: namespace, CHANNELS_URL: nats.url, REGISTRATIONS_PER_HOUR: "0" });
		// Its own process, started the way its README says (`node subscriber.mjs`), with the cluster's settings.
		subscriber = spawn(process.execPath, ["subscriber.mjs"], {
			cwd: EXAMPLE,
			env: { PATH: process.env.PATH ?? "", TRANSPORTER: nats.url, NAMESPACE: namespace },
			stdio: ["ignore", "pipe", "pipe"],
		});
		subscriber.stdout!.on("data", chunk => (output += chunk));
		subscriber.stderr!.on("data", chunk => (output += chunk));
		await eventually(async () => expect(lines()).toContainEqual({ ready: expect.any(String) }), { timeoutMs: 30_000 });
		await node.broker.waitForServices(["welcome-mailer"], 30_000);
	}, 90_000);

	afterAll(async () => {
		if (subscriber && subscriber.exitCode === null) {
			const exited = new Promise(resolve => subscriber.once("exit", resolve));
			subscriber.kill("SIGTERM");
			await exited;
		}
		await node?.stop();
		await deleteNatsStreams(nats.url, namespace).catch(() => undefined);
	});

	it("receives user.registered when someone signs up", async () => {
		const res = await httpClient(node.baseUrl).post("/api/auth/register", { email: `${randomUUID()}@example.com`, password: "a perfectly fine passphrase", displayName: "Newcomer" });
		expect(res.status).toBe(201);
		await eventually(async () => expect(lines()).toContainEqual({ event: "user.registered", userId: res.body.user.id, displayName: "Newcomer", at: res.body.user.createdAt }), { timeoutMs: 20_000 });
	}, 60_000);
});
