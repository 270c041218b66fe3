/**
 * What users do with their profile, over the profile store and the outbox, and the one process that
 * spans services: deleting an account. No Moleculer here: the users service maps actions onto these
 * methods and gives the ports their calls to the partners and auth services.
 */
import { USER_RENAMED_CHANNEL, type Profile, type UpdateProfileParams, type UserRenamedMessage } from "../../contracts/users";
import { writeAuditFact } from "../audit/facts";
import { AppError, notFound } from "../../platform/errors/app-error";
import type { MessageWriter, Outbox } from "../../platform/outbox/outbox";
import type { SqlClient } from "../../platform/sql";
import type { ProfileStore } from "./profile-store";

/** The steps of an account deletion that other services own, each asked with the user's own token. */
export interface AccountDeletionPorts {
	/** Partners of which the user is the only owner (partners service). */
	partnersOwnedAlone(): Promise<string[]>;
	/** Checks the password, closes the account and ends every session; announces the deletion (auth service). */
	closeAccount(password: string): Promise<void>;
}

export class ProfileFlows {
	constructor(
		private readonly profiles: ProfileStore,
		private readonly outbox: Outbox,
	) {}

	async get(userId: string): Promise<Profile> {
		const profile = await this.profiles.get(userId);
		if (!profile) throw notFound("Profile");
		return profile;
	}

	/**
	 * A new display name commits with its announcement, so the auth service's copy follows; `renamed`
	 * is that announcement, for the caller to tell the services online now too.
	 */
	update(userId: string, changes: UpdateProfileParams): Promise<{ profile: Profile; renamed?: UserRenamedMessage }> {
		return this.outbox.transaction(async (messages, db) => {
			const profile = await this.profiles.joined(db).update(userId, changes);
			if (!profile) throw notFound("Profile");
			if (changes.displayName === undefined) return { profile };
			const renamed: UserRenamedMessage = { userId, displayName: profile.displayName, at: profile.updatedAt };
			await messages.add(USER_RENAMED_CHANNEL, renamed, { partitionKey: userId });
			return { profile, renamed };
		});
	}

	/**
	 * Deleting an account, step by step:
	 * 1. a partner must keep an owner: the user hands over (or deletes) the partners they own alone first (409 LAST_OWNER);
	 * 2. the auth service checks the password and closes the account; that is the step that decides,
	 *    and it announces the deletion (users.deleted) with its commit;
	 * 3. the profile goes now, so the answer is already true; every service holding data about the
	 *    user (this one too) erases it when the announcement arrives (accountDeleted).
	 */
	async deleteAccount(userId: string, password: string, ports: AccountDeletionPorts): Promise<void> {
		const partnerIds = await ports.partnersOwnedAlone();
		if (partnerIds.length) throw new AppError("LAST_OWNER", "You are the only owner of a partner: make someone else owner before deleting your account", { partnerIds });
		await ports.closeAccount(password);
		await this.profiles.erase(userId);
	}

	/** The users.deleted announcement: the profile goes (if still there), on the record once. */
	async accountDeleted(userId: string, messages: MessageWriter, db: SqlClient): Promise<void> {
		await this.profiles.joined(db).erase(userId);
		// Keyed by user as well: a second closure message for one account still logs the deletion once.
		await writeAuditFact(messages, { action: "users.deleted", actor: { type: "service", id: "users" }, subject: { type: "account", id: userId } }, `users.deleted:${userId}`);
	}
}
