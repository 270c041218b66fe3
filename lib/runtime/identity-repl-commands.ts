/**
 * `admin-grant <email> [--password <pw>]`: the other way to get a first admin (besides ADMIN_EMAIL),
 * for an operator with the signing keys. It promotes an existing account, or creates one when a
 * password is given. There is deliberately no HTTP route that can do this.
 */
import type { ServiceBroker } from "moleculer";
import { nodeBackends } from "./node-backends";
import { mintOperatorToken } from "./operator-token";

interface ReplArgs {
	email?: string;
	options?: { password?: string };
}

export async function grantAdmin(broker: ServiceBroker, email: string, password?: string): Promise<string> {
	const accessToken = await mintOperatorToken(nodeBackends(broker).config);
	const result = await broker.call<{ userId: string; created: boolean }, { email: string; password?: string }>("auth.ensureAdmin", { email, ...(password ? { password } : {}) }, { meta: { accessToken } });
	return `${email} is an admin (account ${result.userId}, ${result.created ? "created now" : "already existed"}). It takes effect at the account's next login or token refresh.`;
}

export const identityReplCommands = [
	{
		command: "admin-grant <email>",
		description: "Make an account admin (creates it when --password is given)",
		options: [{ option: "-p, --password <password>", description: "password for a new account" }],
		async action(broker: ServiceBroker, args: ReplArgs) {
			try {
				console.log(await grantAdmin(broker, String(args.email), args.options?.password));
			} catch (err) {
				const e = err as { message?: string; type?: string; data?: unknown };
				console.error(`admin-grant failed: ${e.type ?? ""} ${e.message ?? err}${e.data ? ` ${JSON.stringify(e.data)}` : ""}`);
			}
		},
	},
];
