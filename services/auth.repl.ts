/**
 * `admin-grant <email> [--password]`: the other way to get a first admin (besides ADMIN_EMAIL),
 * for an operator with the signing keys. It promotes an existing account, or creates one with a
 * password typed at a prompt (twice, never echoed: a password on the command line would stay in the
 * REPL's history file). There is deliberately no HTTP route that can do this.
 */
import type { ServiceBroker } from "moleculer";
import { asOperator, reportFailure, type ReplArgs, type ReplCommand } from "../platform/runtime/repl-kit";
import { PromptCancelled, promptHidden } from "../platform/runtime/terminal-input";

export async function grantAdmin(broker: ServiceBroker, email: string, password?: string): Promise<string> {
	const result = await broker.call<{ userId: string; created: boolean }, { email: string; password?: string }>(
		"auth.ensureAdmin",
		{ email, ...(password ? { password } : {}) },
		await asOperator(broker),
	);
	return `${email} is an admin (account ${result.userId}, ${result.created ? "created now" : "already existed"}). It takes effect at the account's next login or token refresh.`;
}

/** The auth service's operator commands (services/index.ts hands them to the REPL). */
export const authReplCommands: ReplCommand[] = [
	{
		command: "admin-grant <email>",
		description: "Make an account admin (with --password: create it, asking for its password)",
		options: [{ option: "-p, --password", description: "create the account if it does not exist; the password is asked for, not typed here" }],
		async action(broker: ServiceBroker, args: ReplArgs | undefined) {
			try {
				let password: string | undefined;
				if (args?.options?.password) {
					password = await promptHidden("Password for a new account (not shown): ");
					if ((await promptHidden("The same again: ")) !== password) return console.error("admin-grant: the two passwords differ; nothing changed");
				}
				console.log(await grantAdmin(broker, String(args?.email), password));
			} catch (err) {
				if (err instanceof PromptCancelled) return console.error("admin-grant: cancelled; nothing changed");
				reportFailure("admin-grant", err);
			}
		},
	},
];
