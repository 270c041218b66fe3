/**
 * One of our entry points (platform/runtime/start.ts, repl.ts) in a process of its own, the way `npm
 * start` runs it, for tests that need a real second process: its output collected, its exit awaited.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

export interface NodeProcess {
	child: ChildProcess;
	exited: Promise<number | null>;
	output(): string;
}

export function startScript(script: string, env: Record<string, string>): NodeProcess {
	let output = "";
	const child = spawn(process.execPath, ["--import", "tsx", script], {
		cwd: ROOT,
		env: { ...process.env, NODE_OPTIONS: "", NODE_ENV: "test", LOG_LEVEL: "warn", ...env },
		stdio: ["ignore", "pipe", "pipe"],
	});
	child.stdout!.on("data", chunk => (output += chunk));
	child.stderr!.on("data", chunk => (output += chunk));
	const exited = new Promise<number | null>(resolve => child.once("exit", code => resolve(code)));
	return { child, exited, output: () => output };
}

/** SIGTERM (the node drains), then its exit code. */
export async function stopScript(node: NodeProcess): Promise<number | null> {
	if (node.child.exitCode === null) node.child.kill("SIGTERM");
	return node.exited;
}
