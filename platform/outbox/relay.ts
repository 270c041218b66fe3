/**
 * Sends what an outbox holds, oldest first, and deletes each message once the backend accepted it.
 * One relay per service and node; several relays on one database share the work through claims.
 * A failed send is retried and never dropped. Failures to the end of a pass, or two in a row, mean
 * the backend is away: the relay gives the rest of the batch back, in order, and sleeps through an
 * exponential backoff instead of hammering it. A message that has failed HOLD_AFTER_ATTEMPTS times
 * waits out a backoff of its own, so messages the backend refuses (too large, say) cannot hold the
 * others up; when sends work again after an outage, those held back are due at once.
 */
import { randomUUID } from "node:crypto";
import type { Outbox, OutboxMessage } from "./outbox";

/** Failures after which a message waits on its own backoff instead of keeping its place in line. */
export const HOLD_AFTER_ATTEMPTS = 3;

export interface RelaySettings {
	batchSize: number;
	/** How long a claim lasts: longer than a send can take (sendTimeoutMs). */
	leaseMs: number;
	/** How often to look for due messages when nothing wakes the relay (other nodes' leftovers, backoffs ending). */
	pollIntervalMs: number;
	sendTimeoutMs: number;
	backoff: { initialMs: number; maxMs: number };
}

export const RELAY_DEFAULTS: RelaySettings = {
	batchSize: 100,
	leaseMs: 60_000,
	pollIntervalMs: 1_000,
	sendTimeoutMs: 15_000,
	backoff: { initialMs: 250, maxMs: 60_000 },
};

export interface RelayLogger {
	warn(message: string): void;
	error(message: string): void;
}

export interface RelayRunResult {
	sent: number;
	failed: number;
}

/** 250 ms, 500 ms, 1 s, … up to the cap, with ±20 % jitter so relays on many nodes do not march in step. */
export function backoffDelay(failures: number, backoff: RelaySettings["backoff"], random = Math.random): number {
	const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, failures - 1));
	return Math.round(base * (0.8 + 0.4 * random()));
}

export class OutboxRelay {
	private readonly settings: RelaySettings;
	private timer?: NodeJS.Timeout;
	private running?: Promise<void>;
	private again = false;
	private stopped = true;
	/** Consecutive runs that found the backend away; the relay waits the longer the more. */
	private outageRuns = 0;
	private unsubscribe?: () => void;
	/** Whose claims are this relay's (a node may run several relays on one outbox). */
	private readonly claimant = randomUUID();

	constructor(
		private readonly outbox: Outbox,
		private readonly send: (message: OutboxMessage) => Promise<void>,
		settings: Partial<RelaySettings> = {},
		private readonly logger?: RelayLogger,
	) {
		const merged = { ...RELAY_DEFAULTS, ...settings, backoff: { ...RELAY_DEFAULTS.backoff, ...settings.backoff } };
		// A send must end well within the claim, or another relay could take the message meanwhile.
		this.settings = { ...merged, sendTimeoutMs: Math.max(1, Math.min(merged.sendTimeoutMs, Math.floor(merged.leaseMs / 3))) };
	}

	start(): void {
		if (!this.stopped) return;
		this.stopped = false;
		this.unsubscribe = this.outbox.onCommitted(() => this.wake());
		this.schedule(0);
	}

	/** True while a pass is under way (sending, or reading the outbox). */
	get busy(): boolean {
		return this.running !== undefined;
	}

	/** New messages committed: send them now, unless the relay is waiting out an outage. */
	wake(): void {
		if (this.stopped || this.outageRuns > 0) return;
		if (this.running) {
			this.again = true;
			return;
		}
		this.schedule(0);
	}

	/** Forgets the backoff and runs a pass now (an operator says the backend is back). */
	retryNow(): void {
		if (this.stopped) return;
		this.outageRuns = 0;
		if (this.running) this.again = true;
		else this.schedule(0);
	}

	/** Stops taking messages and waits for the send under way; what is left goes out on the next start (here or on another node). */
	async stop(): Promise<void> {
		this.stopped = true;
		this.unsubscribe?.();
		clearTimeout(this.timer);
		await this.running;
	}

	/** One pass: claims a batch and sends it. Exposed for tests and the REPL; the loop calls it too. */
	async runOnce(): Promise<RelayRunResult> {
		const claimedAt = performance.now();
		const batch = await this.outbox.claim(this.claimant, this.settings.batchSize, this.settings.leaseMs);
		let sent = 0;
		let failed = 0;
		// Where the current run of failures began: failures up to the end of the batch, or two in a
		// row, mean the backend is away; a failure followed by a success is that one message's problem.
		let streakStart = -1;
		let lastError = "";
		for (let i = 0; i < batch.length; i++) {
			const message = batch[i];
			// Stopping, or half the lease gone: what is left goes back rather than outlive the claim.
			if ((this.stopped && this.running) || performance.now() - claimedAt > this.settings.leaseMs / 2) {
				await this.outbox.release(
					this.claimant,
					batch.slice(i).map(m => m.id),
				);
				break;
			}
			try {
				await this.sendWithTimeout(message);
			} catch (err) {
				failed++;
				const attempts = message.attempts + 1;
				lastError = (err as Error)?.message ?? String(err);
				const delay = attempts < HOLD_AFTER_ATTEMPTS ? 0 : backoffDelay(attempts - HOLD_AFTER_ATTEMPTS + 1, this.settings.backoff);
				await this.outbox.failed(this.claimant, message.id, delay, lastError);
				if (attempts === 5 || attempts % 50 === 0) this.logger?.error(`Outbox message ${message.id} on '${message.channel}' has failed ${attempts} times, last: ${lastError}`);
				if (streakStart < 0) streakStart = i;
				if (i - streakStart + 1 >= 2) return this.backendAway(batch.slice(i + 1), lastError, { sent, failed });
				continue;
			}
			streakStart = -1;
			sent++;
			await this.outbox.delivered(this.claimant, message.id);
		}
		if (streakStart >= 0) return this.backendAway([], lastError, { sent, failed });
		if (failed === 0) {
			// Sends work (or nothing was due): messages held back during an outage need not wait longer.
			if (this.outageRuns > 0 && sent > 0) await this.outbox.retryFailedNow();
			this.outageRuns = 0;
		}
		return { sent, failed };
	}

	/**
	 * Gives back the messages not tried yet, due at once so they keep their order; the waiting is the
	 * relay's: it sleeps through its backoff and ignores wake-ups until a pass goes through.
	 */
	private async backendAway(untried: OutboxMessage[], reason: string, result: RelayRunResult): Promise<RelayRunResult> {
		this.outageRuns++;
		await this.outbox.release(
			this.claimant,
			untried.map(m => m.id),
		);
		if (this.outageRuns === 1) this.logger?.warn(`Outbox of ${this.outbox.schema}: sends fail (${reason}); retrying with backoff`);
		return result;
	}

	private schedule(delayMs: number): void {
		if (this.stopped) return;
		clearTimeout(this.timer);
		this.timer = setTimeout(() => void this.loop(), delayMs);
		this.timer.unref?.();
	}

	private async loop(): Promise<void> {
		if (this.running || this.stopped) return;
		let next = this.settings.pollIntervalMs;
		this.running = (async () => {
			try {
				for (;;) {
					this.again = false;
					const { sent, failed } = await this.runOnce();
					if (failed > 0 && sent === 0) {
						next = backoffDelay(Math.max(1, this.outageRuns), this.settings.backoff);
						break;
					}
					// A full batch likely left more behind; a wake during the pass means new ones.
					if (this.stopped || (sent + failed < this.settings.batchSize && !this.again)) break;
				}
			} catch (err) {
				// The database itself is away: the messages are safe in it, try again later.
				this.outageRuns++;
				next = backoffDelay(this.outageRuns, this.settings.backoff);
				if (this.outageRuns === 1) this.logger?.warn(`Outbox of ${this.outbox.schema}: cannot read it (${(err as Error).message}); retrying with backoff`);
			}
		})();
		await this.running;
		this.running = undefined;
		this.schedule(next);
	}

	private sendWithTimeout(message: OutboxMessage): Promise<void> {
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`no answer from the channel backend within ${this.settings.sendTimeoutMs} ms`)), this.settings.sendTimeoutMs);
		});
		return Promise.race([this.send(message), timeout]).finally(() => clearTimeout(timer));
	}
}
