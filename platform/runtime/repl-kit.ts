/**
 * What every service's REPL commands (services/<name>.repl.ts) are made of: moleculer-repl's command
 * shape, the calls they make as the operator (the token the key file gives, so admin-only actions
 * accept them and the audit log names the operator), and one way to report a failure.
 */
import type { ServiceBroker } from "moleculer";
import { nodeBackends } from "./node-backends";
import { mintOperatorToken } from "./operator-token";

/** What moleculer-repl hands a command: its table renderer among other things. */
export interface ReplHelpers {
	table(rows: string[][], options?: unknown): string;
}

/** Positional arguments by name, and the options commander parsed. */
export interface ReplArgs {
	options?: Record<string, string | boolean | undefined>;
	[argument: string]: unknown;
}

export interface ReplCommand {
	command: string;
	alias?: string[];
	description: string;
	options?: Array<{ option: string; description: string }>;
	action(broker: ServiceBroker, args: ReplArgs | undefined, helpers: ReplHelpers): Promise<void>;
}

/** Call options that carry a fresh operator token; mint again for work longer than its 15 minutes. */
export async function asOperator(broker: ServiceBroker): Promise<{ meta: { accessToken: string } }> {
	return { meta: { accessToken: await mintOperatorToken(nodeBackends(broker).config) } };
}

/** A command's failure as one line (with the error's code and details), never a stack trace. */
export function reportFailure(command: string, err: unknown): void {
	const e = err as { message?: string; type?: string; data?: unknown };
	console.error(`${command} failed: ${e.type ? `${e.type} ` : ""}${e.message ?? String(err)}${e.data ? ` ${JSON.stringify(e.data)}` : ""}`);
}
