/**
 * Slows down password guessing. Failures are counted per account and per client address in the
 * shared store (so every gateway node sees the same counts); past a threshold each further failure
 * locks that key for a delay that doubles, up to a cap. The caller answers a locked attempt with
 * 429 and Retry-After without checking the password, and with the same message whether or not the
 * account exists. Accounts are keyed by a hash of the normalised email: the store never holds one.
 */
import { createHash } from "node:crypto";
import type { KeyValueStore } from "../../platform/store/types";
import { limitKeyOf } from "../../platform/http/client-address";

export interface ThrottleRule {
	/** Failures allowed inside the window before delays start. */
	freeAttempts: number;
	firstDelayMs: number;
	maxDelayMs: number;
	/** How long a failure is remembered. */
	windowMs: number;
}

export interface LoginThrottleOptions {
	account: ThrottleRule;
	address: ThrottleRule;
	/** Refresh tokens that do not work, per client address (no account is known for them). */
	refresh: ThrottleRule;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = {
	account: { freeAttempts: 5, firstDelayMs: 1_000, maxDelayMs: 15 * 60_000, windowMs: 15 * 60_000 },
	// One address may be a campus or a carrier NAT: more room, same growth.
	address: { freeAttempts: 30, firstDelayMs: 1_000, maxDelayMs: 15 * 60_000, windowMs: 15 * 60_000 },
	refresh: { freeAttempts: 30, firstDelayMs: 1_000, maxDelayMs: 15 * 60_000, windowMs: 15 * 60_000 },
};

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

export function normaliseEmail(email: string): string {
	return email.trim().normalize("NFKC").toLowerCase();
}

const accountKey = (email: string) => `login:acct:${createHash("sha256").update(normaliseEmail(email)).digest("hex").slice(0, 32)}`;
const addressKey = (address: string) => `login:addr:${limitKeyOf(address)}`;
const refreshKey = (address: string) => `refresh:addr:${limitKeyOf(address)}`;

export function delayAfter(failures: number, rule: ThrottleRule): number {
	if (failures <= rule.freeAttempts) return 0;
	return Math.min(rule.firstDelayMs * 2 ** (failures - rule.freeAttempts - 1), rule.maxDelayMs);
}

export class LoginThrottle {
	constructor(
		private readonly store: KeyValueStore,
		private readonly options: LoginThrottleOptions = DEFAULT_LOGIN_THROTTLE,
	) {}

	/**
	 * Reserves an attempt before the password is checked: it is counted as a failure up front, so a
	 * burst of concurrent guesses cannot all slip past the check while the slow hashes run. Past the
	 * free attempts, only the attempt that sets the lock goes ahead; the others in the burst are
	 * refused (and stay counted, lengthening the next delay). `recordSuccess` takes it back.
	 */
	async begin(account: string, address: string): Promise<ThrottleVerdict> {
		const keys = { account: accountKey(account), address: addressKey(address) };
		const [accountLock, addressLock] = await Promise.all([this.store.ttl(`${keys.account}:lock`), this.store.ttl(`${keys.address}:lock`)]);
		const locked = Math.max(accountLock ?? 0, addressLock ?? 0);
		if (locked > 0) return { allowed: false, retryAfterMs: locked };
		const verdicts = await Promise.all([this.reserve(keys.account, this.options.account), this.reserve(keys.address, this.options.address)]);
		const refused = verdicts.filter((v): v is { allowed: false; retryAfterMs: number } => !v.allowed);
		return refused.length ? { allowed: false, retryAfterMs: Math.max(...refused.map(v => v.retryAfterMs)) } : { allowed: true };
	}

	/**
	 * A good password clears the account's count; the address only gets this attempt back (it may be
	 * guessing other accounts).
	 */
	async recordSuccess(account: string, address: string): Promise<void> {
		await this.store.del(`${accountKey(account)}:failures`, `${accountKey(account)}:lock`);
		await this.store.incr(`${addressKey(address)}:failures`, { by: -1, ttlMs: this.options.address.windowMs });
	}

	/**
	 * A refresh token that did not work, counted per client address like a wrong password: past the
	 * free attempts, further failures from there answer 429 for a doubling delay.
	 */
	async beginRefresh(address: string): Promise<ThrottleVerdict> {
		const key = refreshKey(address);
		const locked = await this.store.ttl(`${key}:lock`);
		if (locked !== null && locked > 0) return { allowed: false, retryAfterMs: locked };
		return this.reserve(key, this.options.refresh);
	}

	private async reserve(key: string, rule: ThrottleRule): Promise<ThrottleVerdict> {
		const failures = await this.store.incr(`${key}:failures`, { ttlMs: rule.windowMs });
		const delay = delayAfter(failures, rule);
		if (delay === 0) return { allowed: true };
		// Only one attempt per lock period: the one that manages to set it.
		if (await this.store.set(`${key}:lock`, String(failures), { ttlMs: delay, onlyIfAbsent: true })) return { allowed: true };
		return { allowed: false, retryAfterMs: (await this.store.ttl(`${key}:lock`)) ?? delay };
	}
}

/**
 * Registration attempts per client address in fixed hourly windows. Registering has to say when an
 * email is taken, so this is what keeps that answer from being a fast way to test addresses.
 */
export class RegistrationLimit {
	constructor(
		private readonly store: KeyValueStore,
		private readonly perHour: number,
		private readonly now: () => number = Date.now,
	) {}

	async attempt(address: string): Promise<ThrottleVerdict> {
		if (this.perHour <= 0) return { allowed: true };
		const hour = Math.floor(this.now() / 3_600_000);
		const count = await this.store.incr(`register:addr:${limitKeyOf(address)}:${hour}`, { ttlMs: 3_600_000 });
		return count <= this.perHour ? { allowed: true } : { allowed: false, retryAfterMs: (hour + 1) * 3_600_000 - this.now() };
	}
}
