/**
 * A gateway node's live connections (server-sent events and WebSocket alike), by user: who may
 * connect (a node-wide bound and one per user), which connections a notification goes to (its
 * user's only), and which must end (their session was revoked, their access token expired). The
 * transports only write bytes: everything here is plain TypeScript, tested without a socket.
 *
 * At the per-user bound a new connection is refused (429 TOO_MANY_CONNECTIONS) rather than the
 * oldest closed: clients reconnect on their own, so closing the oldest would have two tabs past the
 * bound evict each other forever, while a refusal is final and visible. Connections that died
 * without a goodbye do not hold their place for long: heartbeats find them.
 */
import type { NotificationView } from "../../contracts/notifications";
import { LiveFeed, type FeedEvent, type SincePage } from "./live-feed";

export type LiveTransport = "sse" | "ws";

/** Why the server ends a connection; each transport tells its client in its own way. */
export type LiveCloseReason =
	/** The session was logged out or revoked: log in again. */
	| "SESSION_REVOKED"
	/** The access token expired: refresh it and reconnect with the last event id. */
	| "TOKEN_EXPIRED"
	/** The client read too slowly and its backlog grew past the bound: reconnect and resume. */
	| "TOO_SLOW"
	/** The missed notifications could not be fetched: reconnect and resume. */
	| "RESUME_FAILED"
	/** The node is stopping: reconnect (to another node) and resume. */
	| "SHUTTING_DOWN";

/** What a transport offers the hub. */
export interface LiveSink {
	/** Writes one notification; false when the client's backlog is past its bound. */
	send(notification: NotificationView): boolean;
	/** Keeps an idle connection open through proxies, and finds dead ones. */
	heartbeat(): void;
	close(reason: LiveCloseReason): void;
}

export interface LiveConnectionInfo {
	id: number;
	userId: string;
	/** The first characters of the session id: enough to tell sessions apart, not to use one. */
	sessionPrefix: string;
	transport: LiveTransport;
	connectedAt: string;
	lastEventId?: number;
	catchingUp: boolean;
}

export interface LiveHubOptions {
	maxConnections: number;
	maxPerUser: number;
	/** The user's missed notifications, asked for with the token their connection was opened with (so a gateway needs no key of its own). */
	fetchSince(caller: { userId: string; token: string }, after: number, limit: number): Promise<SincePage>;
	isSessionRevoked(sessionId: string): Promise<boolean>;
	/** A feed or a revocation check failed: for the logs. */
	onError?(err: Error, context: string): void;
	now?: () => number;
	/** Revocation lookups in flight at once during a sweep. */
	sweepConcurrency?: number;
}

/** A place under the node-wide bound, taken before the client is authenticated. */
export interface LiveSlot {
	release(): void;
}

export interface AttachRequest {
	userId: string;
	sessionId: string;
	/** The bearer token the connection was opened with: valid for as long as the connection is. */
	token: string;
	/** When the access token expires (ms since the epoch): the connection ends then. */
	expiresAtMs: number;
	transport: LiveTransport;
	sink: LiveSink;
	resumeAfter?: number;
}

export interface LiveConnection {
	readonly id: number;
	readonly userId: string;
	readonly sessionId: string;
	readonly transport: LiveTransport;
	readonly connectedAt: Date;
	readonly expiresAtMs: number;
	readonly feed: LiveFeed;
	readonly sink: LiveSink;
	/** Ends it from the hub's side (the transport closes), once. */
	close(reason: LiveCloseReason): void;
	/** The transport closed (either side): forget it, once. */
	detach(): void;
}

export type AttachOutcome = { ok: true; connection: LiveConnection } | { ok: false; code: "TOO_MANY_CONNECTIONS" };

export class LiveHub {
	private readonly byUser = new Map<string, Set<LiveConnection>>();
	private slotsTaken = 0;
	private attached = 0;
	private nextId = 1;
	private readonly now: () => number;

	constructor(private readonly options: LiveHubOptions) {
		this.now = options.now ?? Date.now;
	}

	/** Connections open or being opened on this node. */
	get size(): number {
		return this.slotsTaken;
	}

	/** Connections attached to a user. */
	get connectedCount(): number {
		return this.attached;
	}

	/** A place under the node-wide bound, or undefined when the node is full (503). */
	reserve(): LiveSlot | undefined {
		if (this.slotsTaken >= this.options.maxConnections) return undefined;
		this.slotsTaken++;
		let released = false;
		return {
			release: () => {
				if (released) return;
				released = true;
				this.slotsTaken--;
			},
		};
	}

	/** Whether one more connection of this user would be refused (checked before an upgrade, to answer in HTTP). */
	userIsFull(userId: string): boolean {
		return (this.byUser.get(userId)?.size ?? 0) >= this.options.maxPerUser;
	}

	/**
	 * Registers an authenticated connection holding `slot` and starts its feed (a resumed one
	 * catches up first). Refused at the user's bound; the slot is released when it ends.
	 */
	attach(slot: LiveSlot, request: AttachRequest): AttachOutcome {
		let connections = this.byUser.get(request.userId);
		if ((connections?.size ?? 0) >= this.options.maxPerUser) return { ok: false, code: "TOO_MANY_CONNECTIONS" };
		if (!connections) this.byUser.set(request.userId, (connections = new Set()));
		const userConnections = connections;
		let gone = false;
		const detach = () => {
			if (gone) return;
			gone = true;
			feed.end();
			userConnections.delete(connection);
			if (userConnections.size === 0 && this.byUser.get(request.userId) === userConnections) this.byUser.delete(request.userId);
			this.attached--;
			slot.release();
		};
		const close = (reason: LiveCloseReason) => {
			if (gone) return;
			detach();
			request.sink.close(reason);
		};
		const feed = new LiveFeed({
			resumeAfter: request.resumeAfter,
			fetchSince: (after, limit) => this.options.fetchSince({ userId: request.userId, token: request.token }, after, limit),
			deliver: notification => {
				if (!request.sink.send(notification)) close("TOO_SLOW");
			},
			fail: err => {
				this.options.onError?.(err, `fetching the missed notifications of user ${request.userId}`);
				close("RESUME_FAILED");
			},
		});
		const connection: LiveConnection = {
			id: this.nextId++,
			userId: request.userId,
			sessionId: request.sessionId,
			transport: request.transport,
			connectedAt: new Date(this.now()),
			expiresAtMs: request.expiresAtMs,
			feed,
			sink: request.sink,
			close,
			detach,
		};
		userConnections.add(connection);
		this.attached++;
		void feed.start();
		return { ok: true, connection };
	}

	/** A notification.created broadcast: to its user's connections on this node, if any. */
	publish(event: FeedEvent & { userId: string }): void {
		const connections = this.byUser.get(event.userId);
		if (!connections) return;
		for (const connection of [...connections]) connection.feed.offer(event);
	}

	/** Every connection's heartbeat, at once. */
	heartbeat(): void {
		for (const connections of this.byUser.values()) for (const connection of connections) connection.sink.heartbeat();
	}

	/**
	 * Ends the connections whose access token expired, then those whose session was revoked (one
	 * lookup per distinct session, a bounded number at a time).
	 */
	async sweep(): Promise<{ expired: number; revoked: number }> {
		const now = this.now();
		let expired = 0;
		const bySession = new Map<string, LiveConnection[]>();
		for (const connections of this.byUser.values()) {
			for (const connection of [...connections]) {
				if (connection.expiresAtMs <= now) {
					connection.close("TOKEN_EXPIRED");
					expired++;
					continue;
				}
				const list = bySession.get(connection.sessionId);
				if (list) list.push(connection);
				else bySession.set(connection.sessionId, [connection]);
			}
		}
		let revoked = 0;
		const sessions = [...bySession.keys()];
		const concurrency = Math.max(1, this.options.sweepConcurrency ?? 64);
		let next = 0;
		const worker = async () => {
			while (next < sessions.length) {
				const sessionId = sessions[next++];
				let isRevoked: boolean;
				try {
					isRevoked = await this.options.isSessionRevoked(sessionId);
				} catch (err) {
					// The store is away: the next sweep asks again; nobody is cut off for our outage.
					this.options.onError?.(err instanceof Error ? err : new Error(String(err)), "checking live sessions for revocation");
					continue;
				}
				if (!isRevoked) continue;
				for (const connection of bySession.get(sessionId)!) {
					connection.close("SESSION_REVOKED");
					revoked++;
				}
			}
		};
		await Promise.all(Array.from({ length: Math.min(concurrency, sessions.length) }, worker));
		return { expired, revoked };
	}

	/** This node's connections of a user, for operators. */
	connectionsOf(userId: string): LiveConnectionInfo[] {
		return [...(this.byUser.get(userId) ?? [])].map(connection => ({
			id: connection.id,
			userId: connection.userId,
			sessionPrefix: connection.sessionId.slice(0, 8),
			transport: connection.transport,
			connectedAt: connection.connectedAt.toISOString(),
			...(connection.feed.lastSent !== undefined ? { lastEventId: connection.feed.lastSent } : {}),
			catchingUp: connection.feed.catchingUp,
		}));
	}

	/** Ends every connection (the node is stopping). */
	closeAll(reason: LiveCloseReason): void {
		for (const connections of [...this.byUser.values()]) for (const connection of [...connections]) connection.close(reason);
	}
}
