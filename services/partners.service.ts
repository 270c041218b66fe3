/**
 * Partner organisations: created pending by any user (who becomes its owner), verified or suspended
 * by admins, with owners managing members. The rules (who sees what, who manages, a partner keeps an
 * owner) are domain/partners/partner-flows.ts; this file maps them to actions and REST routes and
 * announces membership and status changes on the broker.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { AppConfig } from "../platform/config/env";
import { USER_DELETED_CHANNEL, type MembershipsOfParams, type PartnerPublicView, type PartnerRole, type PartnerStatus, type PartnerView, type UserDeletedMessage } from "../contracts/identity";
import { PARTNER_PUBLIC_SCHEMA, PARTNER_SCHEMA } from "../contracts/identity-schemas";
import { isAppError } from "../platform/errors/app-error";
import type { ServiceSchemaWithChannels } from "../platform/channels";
import { actorOf, requestContext } from "../platform/moleculer/audit";
import { callerOf, userOf } from "../platform/moleculer/authorization";
import { defineService } from "../platform/moleculer/define-service";
import { created, noContent } from "../platform/moleculer/responses";
import { runIdempotent } from "../platform/moleculer/idempotency";
import { PartnerFlows, type ChangeOrigin, type MembershipChange } from "../domain/partners/partner-flows";
import { PartnerStore, PARTNERS_MIGRATIONS, type NewPartner } from "../domain/partners/partner-store";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import { DatabaseMixin, type DatabaseServiceThis } from "../mixins/database.mixin";

interface PartnersThis extends DatabaseServiceThis {
	broker: Context["broker"];
	partners: PartnerStore;
	flows: PartnerFlows;
	announce(change: MembershipChange): PartnerView;
}

const NAME = { type: "string", trim: true, min: 2, max: 120 } as const;
const TEXT = { type: "string", trim: true, max: 2000, nullable: true, optional: true } as const;
const WEBSITE = { type: "url", max: 2048, nullable: true, optional: true } as const;
const CONTACT = { type: "email", max: 254, nullable: true, optional: true } as const;
const ROLE = { type: "enum", values: ["owner", "editor"] } as const;

/** The caller and request a change is recorded against. */
function originOf(ctx: Context): ChangeOrigin {
	const { clientIp, requestId } = requestContext(ctx);
	return { actor: actorOf(callerOf(ctx), clientIp), ...(requestId ? { requestId } : {}) };
}

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
					const partner = await this.flows.create(ctx.params, userOf(ctx).userId, originOf(ctx), (db, work) =>
						runIdempotent(this.idempotency, db, ctx, async () => ({ status: 201, body: await work() })).then(response => response.body),
					);
					return created(ctx, `/api/partners/${partner.id}`, partner);
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
				handler(this: PartnersThis, ctx: Context<{ id: string }>): Promise<PartnerView | PartnerPublicView> {
					return this.flows.view(ctx.params.id, callerOf(ctx));
				},
			},

			update: {
				rest: "PATCH /partners/:id",
				access: "user",
				params: { $$strict: true, id: "uuid", name: { ...NAME, optional: true }, description: TEXT, website: WEBSITE, contactEmail: CONTACT },
				openapi: { summary: "Change a partner's details (owners)", tags: ["partners"], response: PARTNER_SCHEMA },
				handler(this: PartnersThis, ctx: Context<{ id: string } & Partial<NewPartner>>): Promise<PartnerView> {
					const { id, ...changes } = ctx.params;
					return this.flows.update(id, changes, callerOf(ctx));
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
					return this.announce(await this.flows.setMember(ctx.params.id, ctx.params.userId, ctx.params.role, callerOf(ctx), originOf(ctx)));
				},
			},

			removeMember: {
				rest: "DELETE /partners/:id/members/:userId",
				access: "user",
				params: { id: "uuid", userId: "uuid" },
				openapi: { summary: "Remove a member (owners), or leave a partner yourself", tags: ["partners"], successStatus: 204, responses: { "409": { description: "LAST_OWNER" } } },
				async handler(this: PartnersThis, ctx: Context<{ id: string; userId: string }>): Promise<void> {
					this.announce(await this.flows.removeMember(ctx.params.id, ctx.params.userId, callerOf(ctx), originOf(ctx)));
					noContent(ctx);
				},
			},

			verify: {
				rest: "POST /partners/:id/verify",
				access: "admin",
				params: { id: "uuid" },
				openapi: { summary: "Verify a partner: its members may then publish hunts", tags: ["admin", "partners"], response: PARTNER_SCHEMA },
				async handler(this: PartnersThis, ctx: Context<{ id: string }>): Promise<PartnerView> {
					const partner = await this.flows.setStatus(ctx.params.id, "verified", null, originOf(ctx));
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
					const partner = await this.flows.setStatus(ctx.params.id, "suspended", ctx.params.reason, originOf(ctx));
					this.broker.emit("partner.suspended", { partnerId: partner.id, reason: ctx.params.reason, at: new Date().toISOString() });
					return partner;
				},
			},

			list: {
				rest: "GET /admin/partners",
				access: "admin",
				params: {
					status: { type: "enum", values: ["pending", "verified", "suspended"], optional: true },
					limit: { type: "number", integer: true, min: 1, max: 200, default: 50, convert: true },
					offset: { type: "number", integer: true, min: 0, max: 1_000_000, default: 0, convert: true },
				},
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
			/** Membership changes are news for other services (tokens, caches): told on the broker once committed. */
			announce(this: PartnersThis, change: MembershipChange): PartnerView {
				if (change.changed) this.broker.emit("partner.membership.changed", { partnerId: change.partner.id, ...change.changed, at: new Date().toISOString() });
				return change.partner;
			},
		},

		async started(this: PartnersThis) {
			this.partners = new PartnerStore(this.db, "partners");
			this.flows = new PartnerFlows(this.partners, this.outbox, {
				userExists: userId =>
					this.broker.call("users.publicProfile", { id: userId }).then(
						() => true,
						err => (isAppError(err, "NOT_FOUND") ? false : Promise.reject(err)),
					),
			});
		},
	});

	schema.channels = {
		[USER_DELETED_CHANNEL]: {
			group: "partners",
			async handler(this: unknown, ctx: Context<UserDeletedMessage>) {
				const self = this as PartnersThis;
				await self.consumeOnce(ctx, (messages, db) => self.flows.accountDeleted(ctx.params.userId, messages, db));
			},
		},
	};
	return schema;
}
