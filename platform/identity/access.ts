/**
 * Who is calling and what they may do, decided from a verified access token alone. Every guarded
 * service runs this on every call (the gateway's check is a convenience, not the boundary), so a
 * caller that reaches a service over the transporter with hand-written meta gains nothing: without
 * a token signed by the auth service's key it is anonymous.
 */
import type { JWK } from "jose";
import type { Access, Caller, PartnerAccess, PartnerRole, PlatformRole } from "../../contracts/identity";
import type { PublicKeySet } from "../../contracts/auth";
import { InvalidTokenError, verifyWithPublicKeys, type AccessClaims, type TokenSettings } from "./tokens";

export const ANONYMOUS: Caller = Object.freeze({ kind: "anonymous" });

/** Subject prefix of the tokens the auth service mints for its own calls to other services. */
export const SERVICE_SUBJECT_PREFIX = "service:";
/** Subject prefix of the tokens the REPL mints, from the key file, for the operator using it. */
export const OPERATOR_SUBJECT_PREFIX = "operator:";

/** Tokens that stand for no user session, so there is no logout to check. */
const isMachineSubject = (sub: string) => sub.startsWith(SERVICE_SUBJECT_PREFIX) || sub.startsWith(OPERATOR_SUBJECT_PREFIX);

export function callerFromClaims(claims: AccessClaims): Caller {
	if (claims.sub.startsWith(SERVICE_SUBJECT_PREFIX) && claims.roles.includes("service")) {
		return { kind: "service", service: claims.sub.slice(SERVICE_SUBJECT_PREFIX.length) };
	}
	if (claims.sub.startsWith(OPERATOR_SUBJECT_PREFIX) && claims.roles.includes("operator")) {
		return { kind: "operator", operator: claims.sub.slice(OPERATOR_SUBJECT_PREFIX.length) };
	}
	const roles = claims.roles.filter((role): role is PlatformRole => role === "player" || role === "admin");
	const partners: Record<string, PartnerRole> = {};
	for (const [partnerId, role] of Object.entries(claims.partners)) {
		if (role === "owner" || role === "editor") partners[partnerId] = role;
	}
	return { kind: "user", userId: claims.sub, roles, partners, sessionId: claims.sid };
}

export type AccessDecision = "allowed" | "unauthenticated" | "forbidden";

/** How much each partner role may do, and what each partner-scoped access level needs. */
const PARTNER_ROLE_RANK: Record<PartnerRole, number> = { editor: 1, owner: 2 };
const PARTNER_ACCESS_RANK: Record<PartnerAccess["partner"], number> = { member: 1, editor: 1, owner: 2 };

/**
 * Whether `caller` may make a call requiring `access`. For partner-scoped access, `partner` is the
 * partner owning the resource and the caller's current memberships (not the token's copy, which
 * may be minutes old); without a partner (an unknown resource) only admins pass, and the action
 * then answers its own 404.
 */
export function decideAccess(caller: Caller, access: Access, partner?: { id: string | undefined; memberships: Record<string, PartnerRole> }): AccessDecision {
	if (access === "public") return "allowed";
	if (caller.kind === "anonymous") return "unauthenticated";
	if (caller.kind === "operator") return "allowed";
	if (typeof access === "object") {
		if (caller.kind !== "user") return "forbidden";
		if (caller.roles.includes("admin")) return "allowed";
		const role = partner?.id !== undefined && Object.hasOwn(partner.memberships, partner.id) ? partner.memberships[partner.id] : undefined;
		return role !== undefined && PARTNER_ROLE_RANK[role] >= PARTNER_ACCESS_RANK[access.partner] ? "allowed" : "forbidden";
	}
	switch (access) {
		case "user":
			return caller.kind === "user" ? "allowed" : "forbidden";
		case "admin":
			return caller.kind === "user" && caller.roles.includes("admin") ? "allowed" : "forbidden";
		case "service":
			return caller.kind === "service" ? "allowed" : "forbidden";
	}
}

/** Admins and operators see and change everything. */
export const isAdmin = (caller: Caller): boolean => caller.kind === "operator" || (caller.kind === "user" && caller.roles.includes("admin"));

export interface VerifierOptions {
	settings: TokenSettings;
	/** The auth service's public keys; called again when a token names a key not yet seen. */
	fetchKeys(): Promise<PublicKeySet>;
	/** Whether a session was logged out or revoked after its access token was issued. */
	isSessionRevoked(sessionId: string): Promise<boolean>;
	/** At most one key refetch per this interval, so junk `kid`s cannot hammer the auth service. */
	keyRefetchIntervalMs?: number;
	/** Verified tokens remembered (until they expire) so repeated calls skip the signature check. */
	cacheSize?: number;
	/**
	 * Keys are fetched again after this long, so a key withdrawn from the ring (after a leak) stops
	 * verifying everywhere within it, and tokens it signed stop being accepted from the cache too.
	 */
	keyMaxAgeMs?: number;
	now?: () => number;
}

interface CachedVerification {
	claims: AccessClaims;
	expiresAtMs: number;
}

export class AccessTokenVerifier {
	private keys: JWK[] | undefined;
	private keysLoading: Promise<JWK[]> | undefined;
	private lastKeyFetchMs = -Infinity;
	private readonly verified = new Map<string, CachedVerification>();
	private readonly cacheSize: number;
	private readonly now: () => number;

	constructor(private readonly options: VerifierOptions) {
		this.cacheSize = options.cacheSize ?? 10_000;
		this.now = options.now ?? Date.now;
	}

	/**
	 * The caller a bearer token stands for; InvalidTokenError when it is not one of ours or no longer
	 * valid. `checkRevocation: false` skips the store lookup, for a check that another one repeats.
	 */
	async callerOf(token: string | undefined, { checkRevocation = true } = {}): Promise<Caller> {
		if (token === undefined || token === "") return ANONYMOUS;
		const claims = await this.claimsOf(token);
		if (checkRevocation && !isMachineSubject(claims.sub) && (await this.options.isSessionRevoked(claims.sid))) throw new InvalidTokenError("session revoked");
		return callerFromClaims(claims);
	}

	private async claimsOf(token: string): Promise<AccessClaims> {
		if (this.keys && this.now() - this.lastKeyFetchMs >= (this.options.keyMaxAgeMs ?? 300_000)) {
			this.keys = undefined;
			this.verified.clear();
		}
		const cached = this.verified.get(token);
		if (cached) {
			if (cached.expiresAtMs > this.now()) return cached.claims;
			this.verified.delete(token);
		}
		const claims = await this.verifySignature(token);
		const expiresAtMs = ((claims as { exp?: number }).exp ?? 0) * 1000;
		if (this.verified.size >= this.cacheSize) this.verified.delete(this.verified.keys().next().value as string);
		this.verified.set(token, { claims, expiresAtMs });
		return claims;
	}

	private async verifySignature(token: string): Promise<AccessClaims> {
		const now = new Date(this.now());
		const keys = await this.loadKeys(false);
		try {
			return await verifyWithPublicKeys(keys, token, this.options.settings, now);
		} catch (err) {
			// A key rotated in since we last fetched: fetch once more, then decide.
			if (err instanceof InvalidTokenError && err.reason === "unknown key" && this.now() - this.lastKeyFetchMs >= (this.options.keyRefetchIntervalMs ?? 5_000)) {
				return verifyWithPublicKeys(await this.loadKeys(true), token, this.options.settings, now);
			}
			throw err;
		}
	}

	private async loadKeys(refresh: boolean): Promise<JWK[]> {
		if (this.keys && !refresh) return this.keys;
		this.keysLoading ??= this.options
			.fetchKeys()
			.then(set => {
				this.lastKeyFetchMs = this.now();
				this.keys = set.keys as JWK[];
				return this.keys;
			})
			.finally(() => {
				this.keysLoading = undefined;
			});
		return this.keysLoading;
	}
}
