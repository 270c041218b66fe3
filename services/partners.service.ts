/**
 * Partner organisations: created pending by any user (who becomes its owner), verified or suspended
 * by admins, with owners managing members. Everything private about a partner is answered only to
 * its members and admins, decided from this service's own membership rows; to anyone else a partner
 * that is not verified does not exist (404), so ids cannot be probed.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { AppConfig } from "../platform/config/env";
import { USER_DELETED_CHANNEL, type Caller, type MembershipsOfParams, type PartnerPublicView, type PartnerRole, type PartnerStatus, type PartnerView, type UserDeletedMessage } from "../contracts/identity";
import { PARTNER_PUBLIC_SCHEMA, PARTNER_SCHEMA } from "../contracts/identity-schemas";
import { AppError } from "../platform/errors/app-error";
import { isAdmin } from "../platform/identity/access";
import type { ServiceSchemaWithChannels } from "../platform/channels";
import { writeAuditFact } from "../domain/audit/facts";
import { actorOf, requestContext, type NewAuditFact } from "../platform/moleculer/audit";
import { runIdempotent } from "../platform/moleculer/idempotency";
import type { MessageWriter } from "../platform/outbox/outbox";
import type { SqlClient } from "../platform/sql";
import { callerOf, userOf } from "../platform/moleculer/authorization";
import { defineService } from "../platform/moleculer/define-service";
import { PartnerStore, PARTNERS_MIGRATIONS, publicPartnerView, type NewPartner } from "../domain/partners/partner-store";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import { DatabaseMixin, type DatabaseServiceThis } from "../mixins/database.mixin";

interface PartnersThis extends DatabaseServiceThis {
	broker: Context["broker"];
	partners: PartnerStore;
	loadForOwner(ctx: Context, partnerId: string): Promise<PartnerView>;
	audit(messages: MessageWriter, ctx: Context, fact: Omit<NewAuditFact, "actor">): Promise<void>;
	/** The partner store and an outbox writer in one transaction: a change and its messages commit together. */
	inTransaction<T>(work: (partners: PartnerStore, messages: MessageWriter, db: SqlClient) => Promise<T>): Promise<T>;
}

const NAME = { type: "string", trim: true, min: 2, max: 120 } as const;
const TEXT = { type: "string", trim: true, max: 2000, nullable: true, optional: true } as const;
const WEBSITE = { type: "url", max: 2048, nullable: true, optional: true } as const;
const CONTACT = { type: "email", max: 254, nullable: true, optional: true } as const;
const ROLE = { type: "enum", values: ["owner", "editor"] } as const;
const partnerSubject = (id: string) => ({ type: "partner", id });

export function createPartnersService(_config: AppConfig): ServiceSchema {
	const schema: ServiceSchemaWithChannels = defineService({
		name: "partners",
		mixins: [DatabaseMixin(PARTNERS_MIGRATIONS), AccessControlMixin()],
		settings: { rest: "/" },

		actions: {
			create: {
				rest: "POST /partners",
				access: "user",
				params: { $$strict: true, name: NAME, description: TEXT, website: WEBSITE, contactEmail: CONTACT },
				idempotencyKey: true,
				openapi: {
					summary: "Create a partner organisation (pending until an admin verifies it); you become its owner",
					tags: ["partners"],
					successStatus: 201,
					response: PARTNER_SCHEMA,
					responses: { "422": { description: "VALIDATION_FAILED, or IDEMPOTENCY_KEY_REUSED: the Idempotency-Key went with different parameters" } },
				},
				async handler(this: PartnersThis, ctx: Context<NewPartner>): Promise<PartnerView> {
					const ownerId = userOf(ctx).userId;
					const response = await this.inTransaction((partners, messages, db) =>
						runIdempotent(this.idempotency, db, ctx, async () => {
							const partner = await partners.create(ctx.params, ownerId);
							await this.audit(messages, ctx, { action: "partners.created", subject: partnerSubject(partner.id), data: { name: partner.name } });
							return { status: 201, location: `/api/partners/${partner.id}`, body: partner };
						}),
					);
					Object.assign(ctx.meta, { $statusCode: response.status, $location: response.location });
					return response.body;
				},
			},

			mine: {
				rest: "GET /partners",
				access: "user",
				openapi: { summary: "The partners you are a member of", tags: ["partners"], response: { type: "array", items: PARTNER_SCHEMA } },
				handler(this: PartnersThis, ctx: Context): Promise<PartnerView[]> {
					return this.partners.listForMember(userOf(ctx).userId);
				},
			},

			get: {
				rest: "GET /partners/:id",
				access: "public",
				params: { id: "uuid" },
				openapi: {
					summary: "A partner: the full view for its members and admins, the public view of a verified partner for anyone else",
					tags: ["partners"],
					response: { oneOf: [PARTNER_SCHEMA, PARTNER_PUBLIC_SCHEMA] },
				},
				async handler(this: PartnersThis, ctx: Context<{ id: string }>): Promise<PartnerView | PartnerPublicView> {
					const partner = await this.partners.get(ctx.params.id);
					if (!partner) throw new AppError("NOT_FOUND", "Partner not found");
					const caller = callerOf(ctx);
					if (isAdmin(caller) || (caller.kind === "user" && (await this.partners.roleOf(partner.id, caller.userId)))) return partner;
					if (partner.status !== "verified") throw new AppError("NOT_FOUND", "Partner not found");
					return publicPartnerView(partner);
				},
			},

			update: {
				rest: "PATCH /partners/:id",
				access: "user",
				params: { $$strict: true, id: "uuid", name: { ...NAME, optional: true }, description: TEXT, website: WEBSITE, contactEmail: CONTACT },
				openapi: { summary: "Change a partner's details (owners)", tags: ["partners"], response: PARTNER_SCHEMA },
				async handler(this: PartnersThis, ctx: Context<{ id: string } & Partial<NewPartner>>): Promise<PartnerView> {
					const { id, ...changes } = ctx.params;
					await this.loadForOwner(ctx, id);
					return (await this.partners.update(id, changes))!;
				},
			},

			setMember: {
				rest: ["POST /partners/:id/members", "PUT /partners/:id/members/:userId"],
				access: "user",
				params: { id: "uuid", userId: "uuid", role: ROLE },
				openapi: {
					summary: "Add a member or change their role (owners)",
					tags: ["partners"],
					response: PARTNER_SCHEMA,
					responses: { "404": { description: "No such partner or user" }, "409": { description: "LAST_OWNER: the partner would have no owner left" } },
				},
				async handler(this: PartnersThis, ctx: Context<{ id: string; userId: string; role: PartnerRole }>): Promise<PartnerView> {
					const { id, userId, role } = ctx.params;
					await this.loadForOwner(ctx, id);
					// Only real, current users can be members (404 from the users service otherwise).
					await ctx.call("users.publicProfile", { id: userId });
					const change = await this.inTransaction(async (partners, messages) => {
						const change = await partners.setMember(id, userId, role);
						if (change.kind === "ok" && change.previousRole !== role) {
							await this.audit(messages, ctx, {
								action: change.previousRole ? "partners.member.role_changed" : "partners.member.added",
								subject: partnerSubject(id),
								data: { userId, role, previousRole: change.previousRole },
							});
						}
						return change;
					});
					if (change.kind === "last-owner") throw new AppError("LAST_OWNER");
					if (change.kind !== "ok") throw new AppError("NOT_FOUND", "Partner not found");
					if (change.previousRole !== role) this.broker.emit("partner.membership.changed", { partnerId: id, userId, role, at: new Date().toISOString() });
					return (await this.partners.get(id))!;
				},
			},

			removeMember: {
				rest: "DELETE /partners/:id/members/:userId",
				access: "user",
				params: { id: "uuid", userId: "uuid" },
				openapi: { summary: "Remove a member (owners), or leave a partner yourself", tags: ["partners"], successStatus: 204, responses: { "409": { description: "LAST_OWNER" } } },
				async handler(this: PartnersThis, ctx: Context<{ id: string; userId: string }>): Promise<void> {
					const { id, userId } = ctx.params;
					const caller = userOf(ctx);
					if (caller.userId !== userId) await this.loadForOwner(ctx, id);
					else if (!(await this.partners.roleOf(id, userId))) throw new AppError("NOT_FOUND", "Partner not found");
					const change = await this.inTransaction(async (partners, messages) => {
						const change = await partners.setMember(id, userId, null);
						if (change.kind === "ok") await this.audit(messages, ctx, { action: "partners.member.removed", subject: partnerSubject(id), data: { userId, previousRole: change.previousRole } });
						return change;
					});
					if (change.kind === "last-owner") throw new AppError("LAST_OWNER");
					if (change.kind !== "ok") throw new AppError("NOT_FOUND", "Member not found");
					this.broker.emit("partner.membership.changed", { partnerId: id, userId, role: null, at: new Date().toISOString() });
					(ctx.meta as { $statusCode?: number }).$statusCode = 204;
				},
			},

			verify: {
				rest: "POST /partners/:id/verify",
				access: "admin",
				params: { id: "uuid" },
				openapi: { summary: "Verify a partner: its members may then publish hunts", tags: ["admin", "partners"], response: PARTNER_SCHEMA },
				async handler(this: PartnersThis, ctx: Context<{ id: string }>): Promise<PartnerView> {
					const partner = await this.inTransaction(async (partners, messages) => {
						const partner = await partners.setStatus(ctx.params.id, "verified", null);
						if (!partner) throw new AppError("NOT_FOUND", "Partner not found");
						await this.audit(messages, ctx, { action: "partners.verified", subject: partnerSubject(partner.id) });
						return partner;
					});
					this.broker.emit("partner.verified", { partnerId: partner.id, at: new Date().toISOString() });
					return partner;
				},
			},

			suspend: {
				rest: "POST /partners/:id/suspend",
				access: "admin",
				params: { id: "uuid", reason: { type: "string", trim: true, min: 1, max: 500 } },
				openapi: { summary: "Suspend a partner", tags: ["admin", "partners"], response: PARTNER_SCHEMA },
				async handler(this: PartnersThis, ctx: Context<{ id: string; reason: string }>): Promise<PartnerView> {
					const partner = await this.inTransaction(async (partners, messages) => {
						const partner = await partners.setStatus(ctx.params.id, "suspended", ctx.params.reason);
						if (!partner) throw new AppError("NOT_FOUND", "Partner not found");
						await this.audit(messages, ctx, { action: "partners.suspended", subject: partnerSubject(partner.id), data: { reason: ctx.params.reason } });
						return partner;
					});
					this.broker.emit("partner.suspended", { partnerId: partner.id, reason: ctx.params.reason, at: new Date().toISOString() });
					return partner;
				},
			},

			list: {
				rest: "GET /admin/partners",
				access: "admin",
				params: { status: { type: "enum", values: ["pending", "verified", "suspended"], optional: true }, limit: { type: "number", integer: true, min: 1, max: 200, default: 50, convert: true }, offset: { type: "number", integer: true, min: 0, max: 1_000_000, default: 0, convert: true } },
				openapi: { summary: "Partners by status, oldest first (e.g. the pending ones awaiting verification)", tags: ["admin", "partners"], response: { type: "array", items: PARTNER_SCHEMA } },
				handler(this: PartnersThis, ctx: Context<{ status?: PartnerStatus; limit: number; offset: number }>): Promise<PartnerView[]> {
					return this.partners.listByStatus(ctx.params.status, ctx.params.limit, ctx.params.offset);
				},
			},

			ownedAlone: {
				// The users service asks before an account is deleted, with the user's own token.
				access: "user",
				handler(this: PartnersThis, ctx: Context): Promise<{ partnerIds: string[] }> {
					return this.partners.ownedAlone(userOf(ctx).userId).then(partnerIds => ({ partnerIds }));
				},
			},

			membershipsOf: {
				// The auth service puts these in access tokens.
				access: "service",
				params: { userId: "uuid" },
				handler(this: PartnersThis, ctx: Context<MembershipsOfParams>): Promise<Record<string, PartnerRole>> {
					return this.partners.membershipsOf(ctx.params.userId);
				},
			},
		},

		methods: {
			/** The partner, if the caller owns it (or is an admin); members who are not owners get 403, others 404. */
			async loadForOwner(this: PartnersThis, ctx: Context, partnerId: string): Promise<PartnerView> {
				const caller: Caller = callerOf(ctx);
				const partner = await this.partners.get(partnerId);
				if (!partner) throw new AppError("NOT_FOUND", "Partner not found");
				if (isAdmin(caller)) return partner;
				const role = caller.kind === "user" ? await this.partners.roleOf(partnerId, caller.userId) : undefined;
				if (!role) throw new AppError("NOT_FOUND", "Partner not found");
				if (role !== "owner") throw new AppError("FORBIDDEN", "Only the partner's owners can do this");
				return partner;
			},

			async audit(this: PartnersThis, messages: MessageWriter, ctx: Context, fact: Omit<NewAuditFact, "actor">): Promise<void> {
				const { clientIp, requestId } = requestContext(ctx);
				await writeAuditFact(messages, { ...fact, actor: actorOf(callerOf(ctx), clientIp), requestId });
			},

			inTransaction<T>(this: PartnersThis, work: (partners: PartnerStore, messages: MessageWriter, db: SqlClient) => Promise<T>): Promise<T> {
				return this.outbox.transaction((messages, db) => work(this.partners.joined(db), messages, db));
			},
		},

		async started(this: PartnersThis) {
			this.partners = new PartnerStore(this.db, "partners");
		},
	});

	schema.channels = {
		[USER_DELETED_CHANNEL]: {
			group: "partners",
			async handler(this: unknown, ctx: Context<UserDeletedMessage>) {
				const self = this as PartnersThis;
				const { userId } = ctx.params;
				await self.consumeOnce(ctx, async (messages, db) => {
					const left = await self.partners.joined(db).removeUserEverywhere(userId);
					for (const partnerId of left) {
						await writeAuditFact(messages, { action: "partners.member.removed", actor: { type: "service", id: "partners" }, subject: partnerSubject(partnerId), data: { userId, reason: "account deleted" } });
					}
				});
			},
		},
	};
	return schema;
}
