/**
 * What `npm run backends` needs from the machine: commands (run as root, or through sudo for a
 * developer who is not), Debian packages installed only when their command is missing, Maven
 * artifacts copied from ~/.m2 once per pom, and detached server processes with pid files.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { isProcessAlive, isSameProcess, processStartTime } from "../../platform/runtime/process-identity";

/** Data, libraries, pid files; throwaway by design (a reboot may clear it, `up` rebuilds it). */
export const BACKENDS_DIR = process.env.LOOTOPIA_BACKENDS_DIR ?? path.join(os.tmpdir(), "lootopia-backends");
/** Every server's log, the one place `status` points at. */
export const LOGS_DIR = path.join(BACKENDS_DIR, "logs");

export const isRoot = process.getuid?.() === 0;

export function log(message: string): void {
	process.stdout.write(`backends: ${message}\n`);
}

export function commandExists(command: string): boolean {
	return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/** Runs a command to completion, output to our stdout; throws with the command line on failure. */
export function run(command: string, args: string[], options: { asRoot?: boolean; asUser?: string; cwd?: string; env?: NodeJS.ProcessEnv; quiet?: boolean; input?: string } = {}): string {
	let [file, argv] = [command, args];
	if (options.asUser) [file, argv] = isRoot ? ["runuser", ["-u", options.asUser, "--", command, ...args]] : ["sudo", ["-u", options.asUser, command, ...args]];
	else if (options.asRoot && !isRoot) [file, argv] = ["sudo", [command, ...args]];
	try {
		return execFileSync(file, argv, {
			cwd: options.cwd,
			env: options.env ?? process.env,
			input: options.input,
			stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", options.quiet ? "pipe" : "inherit"],
			encoding: "utf8",
		});
	} catch (err) {
		const e = err as { stderr?: string; stdout?: string; status?: number };
		throw new Error(`${[file, ...argv].join(" ")} failed (exit ${e.status}): ${(e.stderr || e.stdout || "").toString().trim().slice(-2000)}`);
	}
}

let aptUpdated = false;

/**
 * Installs the Debian packages that are not there yet (`present`: a command the package provides,
 * or a check of its own); `apt-get update` at most once per run.
 */
export function ensureDebianPackages(packages: Array<{ pkg: string; present: string | (() => boolean) }>): void {
	const missing = packages.filter(p => !(typeof p.present === "string" ? commandExists(p.present) : p.present())).map(p => p.pkg);
	if (!missing.length) return;
	log(`installing ${missing.join(", ")} from Debian's packages`);
	const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
	if (!aptUpdated) {
		run("apt-get", ["update", "-qq"], { asRoot: true, env });
		aptUpdated = true;
	}
	run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { asRoot: true, env, quiet: true });
}

/** The JDK servers run on: JAVA_HOME when set, else the one of the `java` on PATH (installed if missing). */
export function javaHome(): string {
	if (process.env.JAVA_HOME) return process.env.JAVA_HOME;
	ensureDebianPackages([{ pkg: "openjdk-17-jre-headless", present: "java" }]);
	const java = execFileSync("sh", ["-c", "command -v java"], { encoding: "utf8" }).trim();
	return path.dirname(path.dirname(fs.realpathSync(java)));
}

export function javaCommand(): string {
	return path.join(javaHome(), "bin", "java");
}

export function chownRecursive(owner: string, paths: string[]): void {
	run("chown", ["-R", `${owner}:${owner}`, ...paths], { asRoot: true });
}

/**
 * Copies a pom's dependencies (resolved through ~/.m2, downloaded only the first time) into
 * `target`, skipped entirely when the pom has not changed since the last copy: a second `up` does not
 * even start Maven.
 */
export function mavenCopy(pom: string, target: string, goal: "copy-dependencies" | "unpack-dependencies", options: { extraArgs?: string[]; expect: string }): void {
	const extraArgs = options.extraArgs ?? [];
	const stamp = path.join(target, ".pom-sha256");
	const digest = createHash("sha256").update(fs.readFileSync(pom)).update(extraArgs.join(" ")).digest("hex");
	if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === digest && fs.existsSync(path.join(target, options.expect))) return;
	ensureDebianPackages([{ pkg: "maven", present: "mvn" }]);
	log(`resolving ${path.relative(process.cwd(), pom)} with Maven (cached in ~/.m2)`);
	fs.rmSync(target, { recursive: true, force: true });
	fs.mkdirSync(target, { recursive: true });
	// Markers beside the output, never in the repository: a marker newer than the artifact in ~/.m2
	// would make a later unpack a silent no-op.
	const markers = `-DmarkersDirectory=${path.join(target, ".markers")}`;
	run("mvn", ["-B", "-q", "-Dstyle.color=never", "-f", pom, `dependency:${goal}`, `-DoutputDirectory=${target}`, markers, ...extraArgs], { quiet: true });
	if (!fs.existsSync(path.join(target, options.expect))) throw new Error(`Maven finished but ${path.join(target, options.expect)} is missing`);
	fs.writeFileSync(stamp, digest);
}

/**
 * Starts a server in its own session, stdout and stderr appended to `logFile`, and writes its pid
 * file. `asUser` (when running as root) drops to that user with setpriv, which execs the command, so
 * the pid is the server's own and a SIGTERM reaches it directly.
 */
export function spawnDetached(command: string, args: string[], options: { logFile: string; pidFile: string; cwd?: string; env?: NodeJS.ProcessEnv; asUser?: string }): number {
	if (!command.includes("/") ? !commandExists(command) : !fs.existsSync(command)) throw new Error(`cannot start ${command}: not found`);
	fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
	const out = fs.openSync(options.logFile, "a");
	const [file, argv] = options.asUser && isRoot ? ["setpriv", ["--reuid", options.asUser, "--regid", options.asUser, "--init-groups", "--", command, ...args]] : [command, args];
	const child = spawn(file, argv, { cwd: options.cwd, env: options.env ?? process.env, detached: true, stdio: ["ignore", out, out] });
	fs.closeSync(out);
	if (child.pid === undefined) throw new Error(`cannot start ${command}`);
	// A failure after the spawn shows in the log and as a dead pid; it must not crash the CLI.
	child.on("error", err => fs.appendFileSync(options.logFile, `spawn failed: ${err.message}\n`));
	child.unref();
	fs.writeFileSync(options.pidFile, `${child.pid} ${processStartTime(child.pid) ?? ""}\n`);
	return child.pid;
}

/**
 * The live process a pid file names, or undefined. The start time written beside the pid must still
 * match: after a reboot a reused pid belongs to some other process, which `down` must never signal.
 */
export function readPid(pidFile: string, content?: string): number | undefined {
	try {
		const [pidText, startTime] = (content ?? fs.readFileSync(pidFile, "utf8")).split("\n")[0].trim().split(/\s+/);
		const pid = Number(pidText);
		return Number.isInteger(pid) && pid > 0 && isSameProcess(pid, startTime) ? pid : undefined;
	} catch {
		return undefined;
	}
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProcess(pid: number, graceMs = 30_000): Promise<void> {
	try {
		process.kill(pid, "SIGTERM");
	} catch {
		return;
	}
	const deadline = Date.now() + graceMs;
	while (isProcessAlive(pid) && Date.now() < deadline) await sleep(100);
	if (isProcessAlive(pid)) {
		process.kill(pid, "SIGKILL");
		while (isProcessAlive(pid)) await sleep(50);
	}
}

/** Resident memory of a process and all its descendants, in MiB (from /proc, Linux only). */
export function residentMiB(pid: number): number | undefined {
	const pids = [pid];
	for (let i = 0; i < pids.length; i++) {
		try {
			const children = fs.readFileSync(`/proc/${pids[i]}/task/${pids[i]}/children`, "utf8").trim();
			if (children) pids.push(...children.split(/\s+/).map(Number));
		} catch {
			// gone meanwhile
		}
	}
	let kib = 0;
	for (const p of pids) {
		try {
			const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p}/status`, "utf8"));
			if (match) kib += Number(match[1]);
		} catch {
			// gone meanwhile
		}
	}
	return kib ? Math.round(kib / 1024) : undefined;
}

/** Creates a system user (no login, no home) for servers that refuse to run as root. */
export function ensureSystemUser(name: string): void {
	if (spawnSync("id", ["-u", name], { stdio: "ignore" }).status === 0) return;
	run("useradd", ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name], { asRoot: true });
}
