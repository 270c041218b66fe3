/**
 * Ended sessions, as every node's token check sees them: an access token outlives its session by
 * up to its lifetime, so a session that ends (logout, refresh-token reuse, account closure, a role
 * taken away) is marked in the shared store for that long, and a token of a marked session is
 * refused. The auth service marks; every verifier asks.
 */
import type { KeyValueStore } from "../store/types";

const keyOf = (sessionId: string) => `auth:revoked-session:${sessionId}`;

export class SessionRevocations {
	constructor(
		private readonly store: KeyValueStore,
		private readonly accessTtlSeconds: number,
	) {}

	/** Marked for as long as an access token of the session could still be presented (plus a minute of clock skew). */
	async mark(sessionIds: readonly string[]): Promise<void> {
		const ttlMs = (this.accessTtlSeconds + 60) * 1000;
		await Promise.all(sessionIds.map(id => this.store.set(keyOf(id), "1", { ttlMs })));
	}

	async isRevoked(sessionId: string): Promise<boolean> {
		return (await this.store.get(keyOf(sessionId))) !== null;
	}
}
