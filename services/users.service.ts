/**
 * Profiles: the signed-in user's own (display name, avatar, locale), and the public view others see.
 * Deleting an account starts here because it is what users look for under "my profile"; the auth
 * service does the part that must not fail halfway (closing the account, ending every session) and
 * announces it on a durable channel, which this and other services consume to erase what they hold.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { AppConfig } from "../platform/config/env";
import { USER_DELETED_CHANNEL, USER_RENAMED_CHANNEL, type CreateProfileParams, type Profile, type PublicProfile, type UpdateProfileParams, type UserDeletedMessage, type UserRenamedMessage } from "../contracts/identity";
import { PROFILE_SCHEMA, PUBLIC_PROFILE_SCHEMA } from "../contracts/identity-schemas";
import { AppError } from "../platform/errors/app-error";
import type { ServiceSchemaWithChannels } from "../platform/channels";
import { writeAuditFact } from "../domain/audit/facts";
import { userOf } from "../platform/moleculer/authorization";
import { defineService } from "../platform/moleculer/define-service";
import { ProfileStore, publicView, USERS_MIGRATIONS } from "../domain/users/profile-store";
import { DISPLAY_NAME_PARAM, PASSWORD_PARAM } from "../contracts/identity-params";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import { DatabaseMixin, type DatabaseServiceThis } from "../mixins/database.mixin";

interface UsersThis extends DatabaseServiceThis {
	broker: Context["broker"];
	profiles: ProfileStore;
}

// BCP 47 language tags as phones report them: en, fr-FR, zh-Hant-TW.
const LOCALE = { type: "string", pattern: /^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$/, max: 35 } as const;
// Only https avatars: a client renders them, and http or javascript: URLs are a way in.
const AVATAR_URL = { type: "url", max: 2048, nullable: true, custom: (value: unknown, errors: unknown[]) => (typeof value === "string" && !value.startsWith("https://") ? (errors.push({ type: "urlHttps", message: "must be an https URL" }), value) : value) } as const;

export function createUsersService(_config: AppConfig): ServiceSchema {
	const schema: ServiceSchemaWithChannels = defineService({
		name: "users",
		mixins: [DatabaseMixin(USERS_MIGRATIONS), AccessControlMixin()],
		settings: { rest: "/" },

		actions: {
			createProfile: {
				access: "service",
				params: { userId: "uuid", displayName: DISPLAY_NAME_PARAM, locale: { ...LOCALE, optional: true } },
				handler(this: UsersThis, ctx: Context<CreateProfileParams>): Promise<Profile> {
					return this.profiles.create(ctx.params.userId, ctx.params.displayName, ctx.params.locale);
				},
			},

			me: {
				rest: "GET /users/me",
				access: "user",
				openapi: { summary: "Your profile", tags: ["users"], response: PROFILE_SCHEMA },
				async handler(this: UsersThis, ctx: Context): Promise<Profile> {
					const profile = await this.profiles.get(userOf(ctx).userId);
					if (!profile) throw new AppError("NOT_FOUND", "Profile not found");
					return profile;
				},
			},

			updateMe: {
				rest: "PATCH /users/me",
				access: "user",
				params: { $$strict: true, displayName: { ...DISPLAY_NAME_PARAM, optional: true }, avatarUrl: { ...AVATAR_URL, optional: true }, locale: { ...LOCALE, optional: true } },
				openapi: { summary: "Change your display name, avatar or locale", description: "Only the fields sent change; `avatarUrl: null` removes the avatar.", tags: ["users"], response: PROFILE_SCHEMA },
				handler(this: UsersThis, ctx: Context<UpdateProfileParams>): Promise<Profile> {
					const userId = userOf(ctx).userId;
					// The rename commits with its announcement: the auth service's copy of the name follows.
					return this.outbox.transaction(async (messages, db) => {
						const profile = await this.profiles.joined(db).update(userId, ctx.params);
						if (!profile) throw new AppError("NOT_FOUND", "Profile not found");
						if (ctx.params.displayName !== undefined) {
							const renamed: UserRenamedMessage = { userId, displayName: profile.displayName, at: profile.updatedAt };
							await messages.add(USER_RENAMED_CHANNEL, renamed, { partitionKey: userId });
						}
						return profile;
					});
				},
			},

			deleteMe: {
				rest: "DELETE /users/me",
				access: "user",
				secrets: ["password"],
				params: { $$strict: true, password: PASSWORD_PARAM },
				openapi: {
					summary: "Delete your account",
					description: "Send `{ password }` in the body. Your personal data is erased and every session ends; your id stays unused forever.",
					tags: ["users"],
					successStatus: 204,
					responses: { "401": { description: "INVALID_CREDENTIALS: the password is wrong" }, "409": { description: "LAST_OWNER: you are the only owner of a partner (details.partnerIds)" } },
				},
				async handler(this: UsersThis, ctx: Context<{ password: string }>): Promise<void> {
					const userId = userOf(ctx).userId;
					// A partner must keep an owner: hand it over (or delete it) first.
					const { partnerIds } = await ctx.call<{ partnerIds: string[] }, Record<string, never>>("partners.ownedAlone", {});
					if (partnerIds.length) throw new AppError("LAST_OWNER", "You are the only owner of a partner: make someone else owner before deleting your account", { partnerIds });
					// The caller's own token goes along (meta propagates), so auth closes only this account.
					await ctx.call("auth.closeAccount", { password: ctx.params.password });
					// Also erased when the deletion message arrives; doing it now means the answer is already true.
					await this.profiles.erase(userId);
					(ctx.meta as { $statusCode?: number }).$statusCode = 204;
				},
			},

			publicProfile: {
				rest: "GET /users/:id",
				access: "public",
				params: { id: "uuid" },
				openapi: { summary: "What anyone may see of a player", tags: ["users"], response: PUBLIC_PROFILE_SCHEMA },
				async handler(this: UsersThis, ctx: Context<{ id: string }>): Promise<PublicProfile> {
					const profile = await this.profiles.get(ctx.params.id);
					if (!profile) throw new AppError("NOT_FOUND", "User not found");
					return publicView(profile);
				},
			},
		},

		async started(this: UsersThis) {
			this.profiles = new ProfileStore(this.db, "users");
		},
	});

	schema.channels = {
		[USER_DELETED_CHANNEL]: {
			group: "users",
			async handler(this: unknown, ctx: Context<UserDeletedMessage>) {
				const self = this as UsersThis;
				const { userId, at } = ctx.params;
				const firstTime = await self.consumeOnce(ctx, async (messages, db) => {
					await self.profiles.joined(db).erase(userId);
					// Keyed by user as well: a second closure message for one account (a replay from before
					// message ids) still logs the deletion once.
					await writeAuditFact(messages, { action: "users.deleted", actor: { type: "service", id: "users" }, subject: { type: "account", id: userId } }, `users.deleted:${userId}`);
				});
				if (firstTime) self.broker.emit("user.deleted", { userId, at });
			},
		},
	};
	return schema;
}
