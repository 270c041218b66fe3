/**
 * Profiles: the signed-in user's own (display name, avatar, locale), and the public view others see.
 * Deleting an account starts here because it is what users look for under "my profile"; its steps
 * are named in domain/users/profile-flows.ts (the auth service closes the account and announces it;
 * this and other services erase what they hold when the announcement arrives).
 */
import { usersContract } from "../contracts/users";
import { USER_DELETED_CHANNEL } from "../contracts/auth";
import { notFound } from "../platform/errors/app-error";
import { ProfileFlows } from "../domain/users/profile-flows";
import { userOf } from "../platform/moleculer/authorization";
import { defineService } from "../platform/moleculer/define-service";
import { call, emit } from "../platform/moleculer/contract-calls";
import { noContent } from "../platform/moleculer/responses";
import { ProfileStore, publicView, USERS_MIGRATIONS } from "../domain/users/profile-store";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import { ServiceDatabase } from "../mixins/database.mixin";
import type { ServiceDeps } from "./deps";

export function createUsersService({ backends }: ServiceDeps) {
	const database = new ServiceDatabase(backends, "users", USERS_MIGRATIONS);
	let profiles!: ProfileStore;
	let flows!: ProfileFlows;

	return defineService(usersContract, {
		mixins: [database.mixin(), AccessControlMixin()],
		settings: { rest: "/" },

		actions: {
			createProfile: {
				access: "service",
				handler(ctx) {
					return profiles.create(ctx.params.userId, ctx.params.displayName, ctx.params.locale);
				},
			},

			me: {
				rest: "GET /users/me",
				access: "user",
				openapi: { summary: "Your profile", tags: ["users"] },
				handler(ctx) {
					return flows.get(userOf(ctx).userId);
				},
			},

			updateMe: {
				rest: "PATCH /users/me",
				access: "user",
				openapi: {
					summary: "Change your display name, avatar or locale",
					description: "Only the fields sent change; `avatarUrl: null` removes the avatar.",
					tags: ["users"],
				},
				async handler(ctx) {
					const { profile, renamed } = await flows.update(userOf(ctx).userId, ctx.params);
					if (renamed) void emit(ctx, "user.renamed", renamed);
					return profile;
				},
			},

			deleteMe: {
				rest: "DELETE /users/me",
				access: "user",
				secrets: ["password"],
				openapi: {
					summary: "Delete your account",
					description: "Send `{ password }` in the body. Your personal data is erased and every session ends; your id stays unused forever.",
					tags: ["users"],
					successStatus: 204,
					responses: { "401": { description: "INVALID_CREDENTIALS: the password is wrong" }, "409": { description: "LAST_OWNER: you are the only owner of a partner (details.partnerIds)" } },
				},
				async handler(ctx) {
					// ctx.call: the caller's own token goes along (meta propagates), so each step is theirs alone.
					await flows.deleteAccount(userOf(ctx).userId, ctx.params.password, {
						partnersOwnedAlone: () => call(ctx, "partners.ownedAlone", {}).then(result => result.partnerIds),
						closeAccount: password => call(ctx, "auth.closeAccount", { password }).then(() => undefined),
					});
					noContent(ctx);
				},
			},

			publicProfile: {
				rest: "GET /users/:id",
				access: "public",
				openapi: { summary: "What anyone may see of a player", tags: ["users"] },
				async handler(ctx) {
					const profile = await profiles.get(ctx.params.id);
					if (!profile) throw notFound("User");
					return publicView(profile);
				},
			},
		},

		channels: {
			[USER_DELETED_CHANNEL]: {
				group: "users",
				async handler(ctx) {
					const { userId, at } = ctx.params;
					const firstTime = await database.consumeOnce(ctx, (messages, db) => flows.accountDeleted(userId, messages, db));
					if (firstTime) void emit(this.broker, "user.deleted", { userId, at });
				},
			},
		},

		started() {
			profiles = new ProfileStore(database.db, "users");
			flows = new ProfileFlows(profiles, database.outbox);
		},
	});
}
