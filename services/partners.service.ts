/**
 * Partner organisations: created pending by any user (who becomes its owner), verified or suspended
 * by admins, with owners managing members. The rules (who sees what, who manages, a partner keeps an
 * owner) are domain/partners/partner-flows.ts; this file maps them to actions and REST routes and
 * announces membership and status changes on the broker.
 */
import type { Context } from "moleculer";
import { partnersContract } from "../contracts/partners";
import { USER_DELETED_CHANNEL } from "../contracts/auth";
import { isAppError } from "../platform/errors/app-error";
import { changeOriginOf } from "../platform/moleculer/audit";
import { callerOf, userOf } from "../platform/moleculer/authorization";
import { defineService } from "../platform/moleculer/define-service";
import { emit } from "../platform/moleculer/contract-calls";
import { created, noContent } from "../platform/moleculer/responses";
import { runIdempotent } from "../platform/moleculer/idempotency";
import { PartnerFlows, type MembershipChange } from "../domain/partners/partner-flows";
import { PartnerStore, PARTNERS_MIGRATIONS } from "../domain/partners/partner-store";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import { ServiceDatabase } from "../mixins/database.mixin";
import type { ServiceDeps } from "./deps";

export function createPartnersService({ backends }: ServiceDeps) {
	const database = new ServiceDatabase(backends, "partners", PARTNERS_MIGRATIONS);
	let partners!: PartnerStore;
	let flows!: PartnerFlows;

	/** Membership changes are news for other services (tokens, caches): told on the broker once committed. */
	const announce = (ctx: Context, change: MembershipChange) => {
		if (change.changed) void emit(ctx, "partner.membership.changed", { partnerId: change.partner.id, ...change.changed, at: new Date().toISOString() });
		return change.partner;
	};

	return defineService(partnersContract, {
		mixins: [database.mixin(), AccessControlMixin()],
		settings: { rest: "/" },

		actions: {
			create: {
				rest: "POST /partners",
				access: "user",
				idempotencyKey: true,
				openapi: {
					summary: "Create a partner organisation (pending until an admin verifies it); you become its owner",
					tags: ["partners"],
					successStatus: 201,
					responses: { "422": { description: "VALIDATION_FAILED, or IDEMPOTENCY_KEY_REUSED: the Idempotency-Key went with different parameters" } },
				},
				async handler(ctx) {
					const ownerId = userOf(ctx).userId;
					let isNew = false;
					const partner = await flows.create(ctx.params, ownerId, changeOriginOf(ctx), (db, work) =>
						runIdempotent(database.idempotency, db, ctx, async () => ((isNew = true), { status: 201, body: await work() })).then(response => response.body),
					);
					if (isNew) void emit(ctx, "partner.created", { partnerId: partner.id, ownerId, at: partner.createdAt });
					return created(ctx, `/api/partners/${partner.id}`, partner);
				},
			},

			mine: {
				rest: "GET /partners",
				access: "user",
				openapi: { summary: "The partners you are a member of", tags: ["partners"] },
				handler(ctx) {
					return partners.listForMember(userOf(ctx).userId);
				},
			},

			get: {
				rest: "GET /partners/:id",
				access: "public",
				openapi: { summary: "A partner: the full view for its members and admins, the public view of a verified partner for anyone else", tags: ["partners"] },
				handler(ctx) {
					return flows.view(ctx.params.id, callerOf(ctx));
				},
			},

			update: {
				rest: "PATCH /partners/:id",
				access: "user",
				openapi: { summary: "Change a partner's details (owners)", tags: ["partners"] },
				handler(ctx) {
					const { id, ...changes } = ctx.params;
					return flows.update(id, changes, callerOf(ctx));
				},
			},

			setMember: {
				rest: ["POST /partners/:id/members", "PUT /partners/:id/members/:userId"],
				access: "user",
				openapi: {
					summary: "Add a member or change their role (owners)",
					tags: ["partners"],
					responses: { "404": { description: "No such partner or user" }, "409": { description: "LAST_OWNER: the partner would have no owner left" } },
				},
				async handler(ctx) {
					return announce(ctx, await flows.setMember(ctx.params.id, ctx.params.userId, ctx.params.role, callerOf(ctx), changeOriginOf(ctx)));
				},
			},

			removeMember: {
				rest: "DELETE /partners/:id/members/:userId",
				access: "user",
				openapi: { summary: "Remove a member (owners), or leave a partner yourself", tags: ["partners"], successStatus: 204, responses: { "409": { description: "LAST_OWNER" } } },
				async handler(ctx) {
					announce(ctx, await flows.removeMember(ctx.params.id, ctx.params.userId, callerOf(ctx), changeOriginOf(ctx)));
					noContent(ctx);
				},
			},

			verify: {
				rest: "POST /partners/:id/verify",
				access: "admin",
				openapi: { summary: "Verify a partner: its members may then publish hunts", tags: ["admin", "partners"] },
				async handler(ctx) {
					const partner = await flows.setStatus(ctx.params.id, "verified", null, changeOriginOf(ctx));
					void emit(ctx, "partner.verified", { partnerId: partner.id, at: new Date().toISOString() });
					return partner;
				},
			},

			suspend: {
				rest: "POST /partners/:id/suspend",
				access: "admin",
				openapi: { summary: "Suspend a partner", tags: ["admin", "partners"] },
				async handler(ctx) {
					const partner = await flows.setStatus(ctx.params.id, "suspended", ctx.params.reason, changeOriginOf(ctx));
					void emit(ctx, "partner.suspended", { partnerId: partner.id, reason: ctx.params.reason, at: new Date().toISOString() });
					return partner;
				},
			},

			list: {
				rest: "GET /admin/partners",
				access: "admin",
				openapi: { summary: "Partners by status, oldest first (e.g. the pending ones awaiting verification)", tags: ["admin", "partners"] },
				handler(ctx) {
					return partners.listByStatus(ctx.params.status, ctx.params.limit, ctx.params.offset);
				},
			},

			ownedAlone: {
				// The users service asks before an account is deleted, with the user's own token.
				access: "user",
				async handler(ctx) {
					return { partnerIds: await partners.ownedAlone(userOf(ctx).userId) };
				},
			},

			members: {
				access: "service",
				async handler(ctx) {
					const partner = await partners.get(ctx.params.id);
					return { members: (partner?.members ?? []).map(({ userId, role }) => ({ userId, role })) };
				},
			},

			membershipsOf: {
				// The auth service puts these in access tokens.
				access: "service",
				handler(ctx) {
					return partners.membershipsOf(ctx.params.userId);
				},
			},
		},

		channels: {
			[USER_DELETED_CHANNEL]: {
				group: "partners",
				async handler(ctx) {
					await database.consumeOnce(ctx, (messages, db) => flows.accountDeleted(ctx.params.userId, messages, db));
				},
			},
		},

		started() {
			partners = new PartnerStore(database.db, "partners");
			flows = new PartnerFlows(partners, database.outbox, {
				userExists: userId =>
					this.broker.call("users.publicProfile", { id: userId }).then(
						() => true,
						err => (isAppError(err, "NOT_FOUND") ? false : Promise.reject(err)),
					),
			});
		},
	});
}
