/**
 * Profiles: the signed-in user's own (display name, avatar, locale), and the public view others see.
 * Deleting an account starts here because it is what users look for under "my profile"; its steps
 * are named in domain/users/profile-flows.ts (the auth service closes the account and announces it;
 * this and other services erase what they hold when the announcement arrives).
 */
import type { Context, ServiceSchema } from "moleculer";
import type { AppConfig } from "../platform/config/env";
import { USER_DELETED_CHANNEL, type CreateProfileParams, type Profile, type PublicProfile, type UpdateProfileParams, type UserDeletedMessage } from "../contracts/identity";
import { PROFILE_SCHEMA, PUBLIC_PROFILE_SCHEMA } from "../contracts/identity-schemas";
import { notFound } from "../platform/errors/app-error";
import type { ServiceSchemaWithChannels } from "../platform/channels";
import { ProfileFlows } from "../domain/users/profile-flows";
import { userOf } from "../platform/moleculer/authorization";
import { defineService } from "../platform/moleculer/define-service";
import { noContent } from "../platform/moleculer/responses";
import { ProfileStore, publicView, USERS_MIGRATIONS } from "../domain/users/profile-store";
import { DISPLAY_NAME_PARAM, PASSWORD_PARAM } from "../contracts/identity-params";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import { DatabaseMixin, type DatabaseServiceThis } from "../mixins/database.mixin";

interface UsersThis extends DatabaseServiceThis {
	broker: Context["broker"];
	profiles: ProfileStore;
	flows: ProfileFlows;
}

// BCP 47 language tags as phones report them: en, fr-FR, zh-Hant-TW.
const LOCALE = { type: "string", pattern: /^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$/, max: 35 } as const;
// Only https avatars: a client renders them, and http or javascript: URLs are a way in.
const AVATAR_URL = {
	type: "url",
	max: 2048,
	nullable: true,
	custom: (value: unknown, errors: unknown[]) => (typeof value === "string" && !value.startsWith("https://") ? (errors.push({ type: "urlHttps", message: "must be an https URL" }), value) : value),
} as const;

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
				handler(this: UsersThis, ctx: Context): Promise<Profile> {
					return this.flows.get(userOf(ctx).userId);
				},
			},

			updateMe: {
				rest: "PATCH /users/me",
				access: "user",
				params: { $$strict: true, displayName: { ...DISPLAY_NAME_PARAM, optional: true }, avatarUrl: { ...AVATAR_URL, optional: true }, locale: { ...LOCALE, optional: true } },
				openapi: {
					summary: "Change your display name, avatar or locale",
					description: "Only the fields sent change; `avatarUrl: null` removes the avatar.",
					tags: ["users"],
					response: PROFILE_SCHEMA,
				},
				handler(this: UsersThis, ctx: Context<UpdateProfileParams>): Promise<Profile> {
					return this.flows.update(userOf(ctx).userId, ctx.params);
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
					// ctx.call: the caller's own token goes along (meta propagates), so each step is theirs alone.
					await this.flows.deleteAccount(userOf(ctx).userId, ctx.params.password, {
						partnersOwnedAlone: () => ctx.call<{ partnerIds: string[] }, Record<string, never>>("partners.ownedAlone", {}).then(result => result.partnerIds),
						closeAccount: password => ctx.call("auth.closeAccount", { password }).then(() => undefined),
					});
					noContent(ctx);
				},
			},

			publicProfile: {
				rest: "GET /users/:id",
				access: "public",
				params: { id: "uuid" },
				openapi: { summary: "What anyone may see of a player", tags: ["users"], response: PUBLIC_PROFILE_SCHEMA },
				async handler(this: UsersThis, ctx: Context<{ id: string }>): Promise<PublicProfile> {
					const profile = await this.profiles.get(ctx.params.id);
					if (!profile) throw notFound("User");
					return publicView(profile);
				},
			},
		},

		async started(this: UsersThis) {
			this.profiles = new ProfileStore(this.db, "users");
			this.flows = new ProfileFlows(this.profiles, this.outbox);
		},
	});

	schema.channels = {
		[USER_DELETED_CHANNEL]: {
			group: "users",
			async handler(this: unknown, ctx: Context<UserDeletedMessage>) {
				const self = this as UsersThis;
				const { userId, at } = ctx.params;
				const firstTime = await self.consumeOnce(ctx, (messages, db) => self.flows.accountDeleted(userId, messages, db));
				if (firstTime) self.broker.emit("user.deleted", { userId, at });
			},
		},
	};
	return schema;
}
