/**
 * Which service may publish on which durable channel. Consumers of these channels act only on
 * messages signed by one of the services listed (platform/channels/message-signing.ts); a channel added
 * to a contract gets its line here, or its consumers would take anything.
 */
import { AUDIT_CHANNEL } from "./audit";
import { SESSIONS_REVOKED_CHANNEL, USER_DELETED_CHANNEL, USER_RENAMED_CHANNEL } from "./identity";

export const CHANNEL_PUBLISHERS: Readonly<Record<string, readonly string[]>> = {
	[AUDIT_CHANNEL]: ["auth", "users", "partners"],
	[USER_DELETED_CHANNEL]: ["auth"],
	[USER_RENAMED_CHANNEL]: ["users"],
	[SESSIONS_REVOKED_CHANNEL]: ["auth"],
};
