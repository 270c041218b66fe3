/**
 * What can be done with a partner and by whom, over its store and the outbox. The decisions are
 * made here from this service's own membership rows, never from a token's copy of them:
 * - everything about a partner is answered to its members and admins; to anyone else a partner that
 *   is not verified does not exist (404), so ids cannot be probed;
 * - owners (and admins) manage it; an editor asking gets 403, a stranger 404;
 * - a partner always keeps an owner (409 LAST_OWNER).
 * Every change commits with its audit fact. No Moleculer here: the service maps actions onto these
 * methods and emits the broker events the results call for.
 */
import type { Caller, PartnerRole } from "../../contracts/identity";
import { PARTNER_STATUS_CHANNEL, type PartnerPublicView, type PartnerStatus, type PartnerView } from "../../contracts/partners";
import { writeAuditFact, writeAuditFactFrom, type ChangeOrigin, type NewAuditFact } from "../audit/facts";
import { AppError, notFound, forbidden } from "../../platform/errors/app-error";
import { isAdmin } from "../../platform/identity/access";
import type { MessageWriter, Outbox } from "../../platform/outbox/outbox";
import type { SqlClient } from "../../platform/sql";
import { publicPartnerView, type NewPartner, type PartnerStore } from "./partner-store";

/** Who asked and from where, as the audit fact records it. */
export type { ChangeOrigin } from "../audit/facts";

export interface PartnerPorts {
	/** Whether the account exists and is active (the users service knows): only real users become members. */
	userExists(userId: string): Promise<boolean>;
}

/** Runs a create at most once per client retry (Idempotency-Key): `work` inside the caller's transaction. */
export type OnceOnly = (db: SqlClient, work: () => Promise<PartnerView>) => Promise<PartnerView>;

/** A membership that changed, for the service to announce; undefined when nothing changed. */
export interface MembershipChange {
	partner: PartnerView;
	changed: { userId: string; role: PartnerRole | null } | undefined;
}

const partnerSubject = (id: string) => ({ type: "partner", id });

/** What `caller` may see of `partner`, given the caller's role in it: all, the public view, or nothing. */
export function partnerVisibleTo(partner: PartnerView, caller: Caller, role: PartnerRole | undefined): PartnerView | PartnerPublicView | undefined {
	if (isAdmin(caller) || role) return partner;
	return partner.status === "verified" ? publicPartnerView(partner) : undefined;
}

/** Whether `caller` may manage the partner: owners and admins yes; other members are told no (403); strangers learn nothing (404). */
export function managementDecision(caller: Caller, role: PartnerRole | undefined): "allowed" | "forbidden" | "not-found" {
	if (isAdmin(caller)) return "allowed";
	if (!role) return "not-found";
	return role === "owner" ? "allowed" : "forbidden";
}

export class PartnerFlows {
	constructor(
		private readonly store: PartnerStore,
		private readonly outbox: Outbox,
		private readonly ports: PartnerPorts,
	) {}

	/** Pending until an admin verifies it; the creator is its owner. */
	create(input: NewPartner, ownerId: string, origin: ChangeOrigin, onceOnly: OnceOnly = (_db, work) => work()): Promise<PartnerView> {
		return this.inTransaction((partners, messages, db) =>
			onceOnly(db, async () => {
				const partner = await partners.create(input, ownerId);
				await this.audit(messages, origin, { action: "partners.created", subject: partnerSubject(partner.id), data: { name: partner.name } });
				return partner;
			}),
		);
	}

	async view(partnerId: string, caller: Caller): Promise<PartnerView | PartnerPublicView> {
		const partner = await this.store.get(partnerId);
		const visible = partner && partnerVisibleTo(partner, caller, await this.roleOf(partnerId, caller));
		if (!visible) throw notFound("Partner");
		return visible;
	}

	async update(partnerId: string, changes: Partial<NewPartner>, caller: Caller): Promise<PartnerView> {
		await this.forManagement(partnerId, caller);
		const updated = await this.store.update(partnerId, changes);
		if (!updated) throw notFound("Partner");
		return updated;
	}

	/** Adds a member or changes their role (owners and admins). */
	async setMember(partnerId: string, userId: string, role: PartnerRole, caller: Caller, origin: ChangeOrigin): Promise<MembershipChange> {
		await this.forManagement(partnerId, caller);
		if (!(await this.ports.userExists(userId))) throw notFound("User");
		const change = await this.inTransaction(async (partners, messages) => {
			const change = await partners.setMember(partnerId, userId, role);
			if (change.kind === "ok" && change.previousRole !== role) {
				await this.audit(messages, origin, {
					action: change.previousRole ? "partners.member.role_changed" : "partners.member.added",
					subject: partnerSubject(partnerId),
					data: { userId, role, previousRole: change.previousRole },
				});
			}
			return change;
		});
		if (change.kind === "last-owner") throw new AppError("LAST_OWNER");
		if (change.kind !== "ok") throw notFound("Partner");
		return { partner: await this.current(partnerId), changed: change.previousRole !== role ? { userId, role } : undefined };
	}

	/** Removes a member (owners and admins), or lets a member leave. */
	async removeMember(partnerId: string, userId: string, caller: Caller, origin: ChangeOrigin): Promise<MembershipChange> {
		const leaving = caller.kind === "user" && caller.userId === userId;
		if (!leaving) await this.forManagement(partnerId, caller);
		else if (!(await this.store.roleOf(partnerId, userId))) throw notFound("Partner");
		const change = await this.inTransaction(async (partners, messages) => {
			const change = await partners.setMember(partnerId, userId, null);
			if (change.kind === "ok") await this.audit(messages, origin, { action: "partners.member.removed", subject: partnerSubject(partnerId), data: { userId, previousRole: change.previousRole } });
			return change;
		});
		if (change.kind === "last-owner") throw new AppError("LAST_OWNER");
		if (change.kind !== "ok") throw notFound("Member");
		return { partner: await this.current(partnerId), changed: { userId, role: null } };
	}

	/** Verification and suspension (admins; the service's access says so). */
	setStatus(partnerId: string, status: Exclude<PartnerStatus, "pending">, reason: string | null, origin: ChangeOrigin): Promise<PartnerView> {
		return this.inTransaction(async (partners, messages) => {
			const partner = await partners.setStatus(partnerId, status, reason);
			if (!partner) throw notFound("Partner");
			await this.audit(messages, origin, { action: status === "verified" ? "partners.verified" : "partners.suspended", subject: partnerSubject(partnerId), ...(reason ? { data: { reason } } : {}) });
			// With the change, so services hiding a suspended partner's content never miss it.
			await messages.add(PARTNER_STATUS_CHANNEL, { partnerId, name: partner.name, status, reason, at: new Date().toISOString() }, { partitionKey: partnerId });
			return partner;
		});
	}

	/** A deleted account leaves every partner, even as the last owner (an admin reassigns such partners). */
	async accountDeleted(userId: string, messages: MessageWriter, db: SqlClient): Promise<void> {
		const left = await this.store.joined(db).removeUserEverywhere(userId);
		for (const partnerId of left) {
			await writeAuditFact(messages, {
				action: "partners.member.removed",
				actor: { type: "service", id: "partners" },
				subject: partnerSubject(partnerId),
				data: { userId, reason: "account deleted" },
			});
		}
	}

	private async roleOf(partnerId: string, caller: Caller): Promise<PartnerRole | undefined> {
		return caller.kind === "user" ? this.store.roleOf(partnerId, caller.userId) : undefined;
	}

	private async forManagement(partnerId: string, caller: Caller): Promise<PartnerView> {
		const partner = await this.store.get(partnerId);
		if (!partner) throw notFound("Partner");
		const decision = managementDecision(caller, await this.roleOf(partnerId, caller));
		if (decision === "not-found") throw notFound("Partner");
		if (decision === "forbidden") throw forbidden("Only the partner's owners can do this");
		return partner;
	}

	private async current(partnerId: string): Promise<PartnerView> {
		const partner = await this.store.get(partnerId);
		if (!partner) throw notFound("Partner");
		return partner;
	}

	private inTransaction<T>(work: (partners: PartnerStore, messages: MessageWriter, db: SqlClient) => Promise<T>): Promise<T> {
		return this.outbox.transaction((messages, db) => work(this.store.joined(db), messages, db));
	}

	private async audit(messages: MessageWriter, origin: ChangeOrigin, fact: Omit<NewAuditFact, "actor" | "requestId">): Promise<void> {
		await writeAuditFactFrom(messages, origin, fact);
	}
}
