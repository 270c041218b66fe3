/**
 * The game's use cases: join, look at one's participation, report a position, answer a challenge,
 * take a hint. The rules are the pure files beside this one; this file loads what they need and
 * stores what a decision changed. A report that changes nothing is kept in the shared cache only
 * (participation-cache.ts); any other change is decided again on the participation's row, locked
 * in the transaction that stores it, so concurrent reports of one player make one discovery and one
 * score whichever nodes they land on. Time running out (the player's limit, the hunt's end) closes
 * a participation: when it next plays, or in the periodic sweep (`closeDue`), whichever comes first.
 *
 * A published hunt is frozen, so its playbook (from the hunts service) is kept in memory per hunt;
 * joining reads it afresh, as that is when window, capacity and join code matter.
 */
import { timingSafeEqual } from "node:crypto";
import type { HuntPlaybook } from "../../contracts/hunts";
import { PROGRESS_CHANNEL, STANDINGS_CHANNEL, type DiscoveredClueView, type ProgressMessage, type ParticipationView, type ReviewedParticipationView } from "../../contracts/gameplay";
import type { SqlExecutor } from "../../platform/sql";
import { writeAuditFactFrom, type ChangeOrigin } from "../audit/facts";
import type { MessageWriter, Outbox } from "../../platform/outbox/outbox";
import { AppError, isAppError, notFound } from "../../platform/errors/app-error";
import { decideAttempt, DEFAULT_ATTEMPT_POLICY, type AttemptPolicy } from "./answer-attempts";
import type { Fix, FlagCode } from "./anti-cheat/fix";
import { isComplete } from "./completion";
import { nextHint } from "./hints";
import { compilePlayGraph, openClues } from "./opening";
import { assertPlaying, nextParticipationState } from "./participation-lifecycle";
import { decideReport, DEFAULT_PLAY_POLICY, passedClues, targetsOf, type PlayHunt, type PlayPolicy } from "./position-report";
import { score } from "./scoring";
import { closingOf, timeUp, type ClosedBy, type PlayWindow } from "./closing";
import { appliedTo, type ParticipationChanges, type ParticipationRecord, type PlayStore } from "./play-store";
import type { Claim, ParticipationCache } from "./participation-cache";

export interface PlayPorts {
	/** The hunt as the hunts service plays it; 404 for a hunt no one may play. */
	playbook(huntId: string): Promise<HuntPlaybook>;
	answerMatches(attempt: string, answerHash: string): Promise<boolean>;
	/** Epoch ms. */
	now(): number;
}

type PlaybookClue = HuntPlaybook["clues"][number];

interface PlayedHunt {
	playbook: HuntPlaybook;
	play: PlayHunt;
	clues: Map<string, PlaybookClue>;
	totalPoints: number;
}

/** Published hunts kept in memory per node; past this many, the least recently played is dropped. */
const PLAYED_HUNTS_KEPT = 1000;
/**
 * A kept hunt is read afresh this often even when no `hunt.visibility.changed` broadcast said it
 * changed (a node that missed one, partitioned or restarting, still catches up).
 */
const PLAYED_HUNT_TTL_MS = 60_000;
/** Participations whose hunt and player a node remembers (two short strings each). */
const OWNERS_KEPT = 100_000;
/**
 * A report that lost this many compare-and-sets in a row (a phone firing reports at several nodes at
 * once) is stored through the database like a change instead, where the row's lock orders them.
 */
const CACHED_TRIES = 3;
/** Participations closed per sweep transaction. */
const CLOSED_PER_SWEEP = 500;
/** Changes started again after losing the participation's lock, before the player is told to retry. */
const LOCK_ATTEMPTS = 3;

/** A change's lock lapsed before it committed: another change may be under way. */
class LockLost extends Error {}

export interface ReportResultView {
	outcome: "discovered" | "completed" | "nothing" | "inaccurate" | "flagged";
	discovered?: DiscoveredClueView[];
	flags?: FlagCode[];
	score: number;
}

export class PlayFlows {
	private readonly played = new Map<string, { hunt: Promise<PlayedHunt>; loadedAt: number }>();
	private readonly owners = new Map<string, { huntId: string; playerId: string }>();
	/** Titles of the hunts this node loaded, for messages written where no hunt may be fetched. */
	private readonly titles = new Map<string, string>();

	constructor(
		private readonly store: PlayStore,
		private readonly cache: ParticipationCache,
		private readonly outbox: Outbox,
		private readonly ports: PlayPorts,
		private readonly policy: PlayPolicy & { attempts: AttemptPolicy } = { ...DEFAULT_PLAY_POLICY, attempts: DEFAULT_ATTEMPT_POLICY },
	) {}

	async join(huntId: string, playerId: string, code: string | undefined): Promise<ParticipationView> {
		const hunt = await this.huntAfresh(huntId);
		const existing = await this.store.participationOf(huntId, playerId);
		if (existing) throw new AppError("ALREADY_JOINED", undefined, { participationId: existing });
		const { playbook } = hunt;
		const now = this.ports.now();
		if (playbook.status !== "published" || playbook.partnerSuspended || now < Date.parse(playbook.startsAt) || now >= Date.parse(playbook.endsAt)) {
			throw new AppError("HUNT_NOT_RUNNING", undefined, { startsAt: playbook.startsAt, endsAt: playbook.endsAt });
		}
		if (playbook.visibility === "private" && !sameJoinCode(code, playbook.joinCode)) throw new AppError("JOIN_CODE_INVALID");
		const closing = closingOf(windowOf(playbook), now);
		const joined = await this.store.join(huntId, playerId, playbook.capacity, new Date(now), { at: new Date(closing.at), by: closing.by }, work =>
			this.outbox.transaction(async (messages, tx) => {
				const result = await work(tx);
				if (result.kind === "joined") {
					await this.progress(messages, hunt, { id: result.id, huntId, playerId, startedAt: new Date(now), score: 0 }, "joined", new Date(now));
				}
				return result;
			}),
		);
		if (joined.kind === "full") throw new AppError("HUNT_FULL", undefined, { capacity: playbook.capacity });
		if (joined.kind === "already") throw new AppError("ALREADY_JOINED", undefined, { participationId: joined.id });
		return this.view(joined.id, playerId);
	}

	async view(id: string, playerId: string): Promise<ParticipationView> {
		const record = ownedBy((await this.cache.readUnlocked(id))?.record, playerId);
		return viewOf(await this.hunt(record.huntId), record);
	}

	async report(id: string, playerId: string, report: { lat: number; lon: number; accuracy: number; recordedAt: string }, origin: ChangeOrigin): Promise<ReportResultView> {
		const fix = { lat: report.lat, lon: report.lon, accuracy: report.accuracy, recordedAt: Date.parse(report.recordedAt) };
		const hunt = await this.huntOf(id, playerId);
		for (let tries = 1; ; tries++) {
			const read = await this.cache.readUnlocked(id);
			const record = ownedBy(read?.record, playerId);
			const now = this.ports.now();
			assertStillPlaying(hunt, record);
			assertRunning(hunt);
			// Time up (the change closes the participation), or lost to other reports too often.
			if (timeUpOf(hunt, record, now) || tries > CACHED_TRIES) return this.reportChanging(id, playerId, hunt, fix, origin);
			const decision = decideReport(hunt.play, snapshotOf(record), fix, now, this.policy);
			if (decision.retry) return { outcome: decision.outcome, score: record.score };
			if (decision.flags.length || decision.discovered.length) return this.reportChanging(id, playerId, hunt, fix, origin);
			if (await this.cache.keepHistory(read!, decision.history, new Date(now))) {
				await this.cache.reported(record.huntId, id, now);
				return { outcome: decision.outcome, score: record.score };
			}
		}
	}

	/** A report that changes the participation: decided again on its locked row, stored with its messages. */
	private reportChanging(id: string, playerId: string, hunt: PlayedHunt, fix: Fix, origin: ChangeOrigin): Promise<ReportResultView> {
		return this.change(id, playerId, hunt, async (record, now, messages, tx) => {
			const decision = decideReport(hunt.play, snapshotOf(record), fix, now, this.policy);
			if (decision.retry) return { result: { outcome: decision.outcome, score: record.score } };
			const changes: ParticipationChanges = { history: decision.history, reported: true };
			if (decision.flags.length) {
				changes.flags = decision.flags;
				changes.flagTimes = [...record.flagTimes, now];
				// On the record with the change: a flag and its audit fact commit together.
				const subject = { type: "participation", id };
				await writeAuditFactFrom(messages, origin, { action: "gameplay.flagged", subject, data: { huntId: record.huntId, flags: decision.flags } });
				if (decision.suspend) {
					changes.state = nextParticipationState(record.state, "suspend");
					await writeAuditFactFrom(messages, origin, { action: "gameplay.suspended", subject, data: { huntId: record.huntId, flaggedFixes: changes.flagTimes.length } });
				}
			}
			if (decision.discovered.length) {
				changes.discovered = decision.discovered;
				if (decision.complete) {
					changes.state = nextParticipationState(record.state, "complete");
					changes.completedAt = new Date(now);
				}
				changes.score = scoreOf(hunt, appliedTo(record, changes, new Date(now)));
			}
			const next = await this.commit(tx, messages, record, changes, new Date(now));
			const at = new Date(now);
			if (decision.flags.length) await this.progress(messages, hunt, next, "flagged", at, { flags: decision.flags.map(flag => flag.code) });
			if (decision.suspend) await this.progress(messages, hunt, next, "suspended", at);
			for (const clueId of decision.discovered) await this.progress(messages, hunt, next, "discovered", at, { clueId, clueTitle: hunt.clues.get(clueId)?.title });
			if (decision.complete && decision.discovered.length) await this.progress(messages, hunt, next, "completed", at);
			return {
				next,
				result: {
					outcome: decision.outcome,
					...(decision.discovered.length ? { discovered: decision.discovered.map(clueId => discoveredView(hunt, next, clueId)) } : {}),
					...(decision.flags.length ? { flags: decision.flags.map(flag => flag.code) } : {}),
					score: next.score,
				},
			};
		});
	}

	async answer(id: string, playerId: string, clueId: string, attempt: string): Promise<{ correct: boolean; score: number; opened?: string[] }> {
		// The answer's hash is slow to check on purpose: checked before the participation is locked.
		const read = await this.cache.read(id);
		const before = ownedBy(read?.record, playerId);
		const hunt = await this.hunt(before.huntId);
		const challenge = this.challengeOf(hunt, before, clueId);
		await this.assertMayAnswer(this.store.db, hunt, before, clueId);
		const correct = timeUpOf(hunt, before, this.ports.now()) ? false : await this.ports.answerMatches(attempt, challenge.answerHash);

		return this.change<{ correct: boolean; score: number; opened?: string[] }>(id, playerId, hunt, async (record, now, messages, tx) => {
			// Answers racing each other are counted one at a time here, under the row's lock: a burst
			// gets no more tries than answers sent one by one.
			await this.assertMayAnswer(tx, hunt, record, clueId);
			if (!correct) {
				const next = await this.commit(tx, messages, record, { wrongAnswer: clueId }, new Date(now));
				await this.progress(messages, hunt, next, "answered", new Date(now), { clueId, clueTitle: hunt.clues.get(clueId)?.title, correct: false });
				return { next, result: { correct: false, score: record.score } };
			}
			const solved = new Set([...solvedOf(record), clueId]);
			const discovered = new Set(record.discoveries.keys());
			const openBefore = new Set(openClues(hunt.play.graph, passedClues(hunt.play, discovered, solvedOf(record))));
			const passed = passedClues(hunt.play, discovered, solved);
			const opened = openClues(hunt.play.graph, passed).filter(next => !openBefore.has(next) && !discovered.has(next));
			const changes: ParticipationChanges = { solved: clueId };
			// Solving the last challenge at a trail's end completes the hunt.
			if (isComplete(hunt.play.graph, passed)) {
				changes.state = nextParticipationState(record.state, "complete");
				changes.completedAt = new Date(now);
			}
			changes.score = scoreOf(hunt, appliedTo(record, changes, new Date(now)));
			const next = await this.commit(tx, messages, record, changes, new Date(now));
			await this.progress(messages, hunt, next, "answered", new Date(now), { clueId, clueTitle: hunt.clues.get(clueId)?.title, correct: true });
			if (changes.completedAt) await this.progress(messages, hunt, next, "completed", new Date(now));
			return { next, result: { correct: true, score: next.score, ...(opened.length ? { opened } : {}) } };
		});
	}

	async hint(id: string, playerId: string, clueId: string): Promise<{ hint: { text: string; cost: number }; score: number }> {
		const hunt = await this.huntOf(id, playerId);
		return this.change(id, playerId, hunt, async (record, now, messages, tx) => {
			const clue = hunt.clues.get(clueId);
			// A clue not found yet is one the player may not know exists.
			if (!clue || !record.discoveries.has(clueId)) throw notFound("Clue");
			const taken = record.hintsTaken.get(clueId) ?? [];
			const hint = nextHint(clue.hints, taken.length);
			const changes: ParticipationChanges = { hint: { clueId, seq: taken.length, cost: hint.cost } };
			changes.score = scoreOf(hunt, appliedTo(record, changes, new Date(now)));
			const next = await this.commit(tx, messages, record, changes, new Date(now));
			await this.progress(messages, hunt, next, "hint_taken", new Date(now), { clueId, clueTitle: clue.title });
			return { next, result: { hint, score: next.score } };
		});
	}

	/**
	 * Closes the participations whose time is up and that have not played since (those that did were
	 * closed then), telling the leaderboards in the same transactions. Any node may run it at any
	 * time: each row is closed once, by whichever transaction locks it first.
	 */
	async closeDue(): Promise<number> {
		let total = 0;
		for (;;) {
			const closed = await this.outbox.transaction(async (messages, tx) => {
				const now = new Date(this.ports.now());
				const rows = await this.store.closeDue(tx, now, CLOSED_PER_SWEEP);
				for (const row of rows) {
					await messages.add(
						STANDINGS_CHANNEL,
						{ participationId: row.id, huntId: row.huntId, playerId: row.playerId, state: "completed", score: row.score, completedAt: null, version: row.version, at: now.toISOString() },
						{ partitionKey: row.huntId },
					);
					// The hunt's title only if this node holds the hunt: fetching it here would call another service mid-transaction.
					await this.progress(messages, this.titles.get(row.huntId.toLowerCase()), row, "closed", now, { closedBy: row.closedBy });
				}
				return rows;
			});
			await this.cache.changedElsewhere(closed);
			total += closed.length;
			if (closed.length < CLOSED_PER_SWEEP) return total;
		}
	}

	/** For operators: a hunt's players by state, how recently the active ones reported, discoveries per clue. */
	async liveState(huntId: string) {
		const hunt = await this.hunt(huntId);
		const state = await this.store.liveState(huntId, new Date(this.ports.now()), await this.cache.lastReports(huntId));
		return {
			huntId,
			byState: state.byState,
			reportingNow: state.reportingNow,
			lastReportAgeSeconds: state.lastReportAgeSeconds,
			clues: hunt.playbook.clues.map(clue => ({ clueId: clue.id, title: clue.title, discovered: state.discoveriesByClue.get(clue.id) ?? 0 })),
		};
	}

	/** For operators: any participation, with its flags. */
	async inspect(id: string): Promise<ReviewedParticipationView> {
		const record = await this.store.load(this.store.db, id);
		if (!record) throw notFound("Participation");
		return this.reviewed(this.store.db, record);
	}

	/** Every participation of a hunt as leaderboards rank it: what they are rebuilt from. */
	async standings(huntId: string) {
		const items = await this.store.standingsOf(huntId);
		return { items: items.map(item => ({ ...item, huntId, completedAt: item.completedAt?.toISOString() ?? null })) };
	}

	/** Where one player stands in the hunt (rewards decide eligibility from it); null when they never joined. */
	async standingOf(huntId: string, playerId: string) {
		const standing = await this.store.standingOf(huntId, playerId);
		if (!standing) return { standing: null };
		return { standing: { ...standing, mine: { ...standing.mine, completedAt: standing.mine.completedAt?.toISOString() ?? null } } };
	}

	/** One step of a participation on the durable progress channel, in the transaction of the change it tells of. */
	private progress(
		messages: MessageWriter,
		hunt: PlayedHunt | string | undefined,
		participation: { id: string; huntId: string; playerId: string; startedAt: Date; score: number },
		kind: ProgressMessage["kind"],
		at: Date,
		details: Pick<ProgressMessage, "clueId" | "clueTitle" | "correct" | "flags" | "closedBy"> = {},
	): Promise<string> {
		const message: ProgressMessage = {
			participationId: participation.id,
			huntId: participation.huntId,
			...(hunt === undefined ? {} : { huntTitle: typeof hunt === "string" ? hunt : hunt.playbook.title }),
			playerId: participation.playerId,
			kind,
			at: at.toISOString(),
			startedAt: participation.startedAt.toISOString(),
			score: participation.score,
		};
		for (const [key, value] of Object.entries(details)) if (value !== undefined) Object.assign(message, { [key]: value });
		return messages.add(PROGRESS_CHANNEL, message, { partitionKey: participation.id });
	}

	/**
	 * Stores what a decision changed and, when the score or the state moved, tells the leaderboards
	 * in the same transaction (outbox): a standing is never lost, nor announced for a change that
	 * rolled back. The transactions here are the outbox's own, which wake its relay once committed
	 * (a plain transaction left the messages for its next poll, a second later). Resolves the record
	 * as committed.
	 */
	private async commit(tx: SqlExecutor, messages: MessageWriter, record: ParticipationRecord, changes: ParticipationChanges, now: Date): Promise<ParticipationRecord> {
		await this.store.apply(tx, record.id, changes, now);
		const next = appliedTo(record, changes, now);
		if (next.score === record.score && next.state === record.state) return next;
		await messages.add(
			STANDINGS_CHANNEL,
			{
				participationId: next.id,
				huntId: next.huntId,
				playerId: next.playerId,
				state: next.state,
				score: next.score,
				completedAt: next.completedAt?.toISOString() ?? null,
				version: next.version,
				at: now.toISOString(),
			},
			{ partitionKey: next.huntId },
		);
		return next;
	}

	/**
	 * One change to a playing participation, in one transaction with its row locked: the row is the
	 * truth (a cached copy may be behind), and `work` decides on it. A participation whose time is up
	 * is closed instead, and the caller told so. The cached copy follows the commit.
	 */
	private async change<T>(
		id: string,
		playerId: string,
		hunt: PlayedHunt,
		work: (record: ParticipationRecord, now: number, messages: MessageWriter, tx: SqlExecutor) => Promise<{ next?: ParticipationRecord; result: T }>,
	): Promise<T> {
		const done = await this.claimed(id, async (claim, messages, tx) => {
			const record = ownedBy(await this.cache.lockForChange(tx, id, claim), playerId);
			const now = this.ports.now();
			assertStillPlaying(hunt, record);
			assertRunning(hunt);
			const closedBy = timeUpOf(hunt, record, now);
			if (closedBy) {
				const next = await this.commit(tx, messages, record, { state: nextParticipationState(record.state, "close"), closedBy }, new Date(now));
				await this.progress(messages, hunt, next, "closed", new Date(now), { closedBy });
				return { next, closedBy };
			}
			return work(record, now, messages, tx);
		});
		if ("closedBy" in done) throw timeUpError(hunt, done.closedBy);
		return (done as { result: T }).result;
	}

	/**
	 * One change in one transaction, holding the participation's lock (participation-cache.ts); the
	 * cached copy follows what committed. A change that lost its lock before committing (it stalled
	 * past the lock's life) rolls back and starts again.
	 */
	private async claimed<R extends { next?: ParticipationRecord }>(id: string, work: (claim: Claim, messages: MessageWriter, tx: SqlExecutor) => Promise<R>): Promise<R> {
		for (let attempt = 1; ; attempt++) {
			const claim = await this.cache.claim(id);
			if (!claim) throw notFound("Participation");
			let committing = false;
			let done: R;
			try {
				done = await this.outbox.transaction(async (messages, tx) => {
					const result = await work(claim, messages, tx);
					if (result.next && !(await this.cache.stillHeld(claim))) throw new LockLost();
					committing = true;
					return result;
				});
			} catch (err) {
				// The cache only follows the row; the lock lapses by itself if the store is away too.
				await (committing ? this.cache.uncertain(claim) : this.cache.rolledBack(claim)).catch(() => undefined);
				if (!(err instanceof LockLost)) throw err;
				if (attempt === LOCK_ATTEMPTS) throw new AppError("SERVICE_UNAVAILABLE", "This participation is busy; try again");
				continue;
			}
			await (done.next ? this.cache.committed(claim, done.next) : this.cache.rolledBack(claim)).catch(() => undefined);
			return done;
		}
	}

	/** The admins' review queue: participations in `state`, with every flag and its evidence. */
	async reviewQueue(state: "suspended" | "disqualified", limit: number): Promise<{ items: ReviewedParticipationView[] }> {
		const items: ReviewedParticipationView[] = [];
		for (const id of await this.store.idsInState(state, limit)) {
			const record = await this.store.load(this.store.db, id);
			if (record) items.push(await this.reviewed(this.store.db, record));
		}
		return { items };
	}

	/**
	 * An admin's decision on a suspended participation, on the record. Reinstating clears the flags'
	 * count (they were honest), so the next glitch does not suspend the player again at once; the
	 * flags themselves stay, with their evidence.
	 */
	async review(id: string, decision: "reinstate" | "disqualify", note: string, origin: ChangeOrigin): Promise<ReviewedParticipationView> {
		const owner = await this.store.huntOf(id);
		if (!owner) throw notFound("Participation");
		// Read before the transaction, as huntOf explains.
		const hunt = await this.hunt(owner.huntId);
		const reviewed = await this.claimed(id, async (claim, messages, tx) => {
			const record = await this.cache.lockForChange(tx, id, claim);
			if (!record) throw notFound("Participation");
			const state = nextParticipationState(record.state, decision);
			const next = await this.commit(tx, messages, record, { state, ...(decision === "reinstate" ? { flagTimes: [] } : {}) }, new Date(this.ports.now()));
			await this.progress(messages, hunt, next, decision === "reinstate" ? "reinstated" : "disqualified", new Date(this.ports.now()));
			await writeAuditFactFrom(messages, origin, {
				action: "gameplay.reviewed",
				subject: { type: "participation", id },
				data: { decision, note, huntId: record.huntId, playerId: record.playerId },
			});
			return { next, view: await this.reviewed(tx, next, hunt) };
		});
		return reviewed.view;
	}

	private async reviewed(db: Parameters<PlayStore["flagsOf"]>[0], record: ParticipationRecord, hunt?: PlayedHunt): Promise<ReviewedParticipationView> {
		const flags = await this.store.flagsOf(db, record.id);
		return { ...viewOf(hunt ?? (await this.hunt(record.huntId)), record), flags: flags.map(flag => ({ code: flag.code, evidence: flag.evidence, raisedAt: flag.raisedAt.toISOString() })) };
	}

	private challengeOf(hunt: PlayedHunt, record: ParticipationRecord, clueId: string): NonNullable<PlaybookClue["challenge"]> {
		const clue = hunt.clues.get(clueId);
		if (!clue || !record.discoveries.has(clueId)) throw notFound("Clue");
		if (!clue.challenge) throw new AppError("CONFLICT", "This clue has no challenge");
		return clue.challenge;
	}

	private async assertMayAnswer(db: Parameters<PlayStore["wrongAnswerTimes"]>[0], hunt: PlayedHunt, record: ParticipationRecord, clueId: string): Promise<void> {
		assertStillPlaying(hunt, record);
		// Answered right already: nothing to check, and no hash to compute for it.
		if (record.discoveries.get(clueId)?.solvedAt) throw new AppError("CONFLICT", "This challenge is solved already", { clueId });
		const decision = decideAttempt(await this.store.wrongAnswerTimes(db, record.id, clueId), this.ports.now(), this.policy.attempts);
		if (!decision.allowed) throw new AppError("TOO_MANY_ATTEMPTS", undefined, { retryAfterSeconds: decision.retryAfterSeconds });
	}

	/**
	 * The hunt a participation plays, read before its transaction opens: fetching a playbook calls the
	 * hunts service, whose queries would wait behind this transaction on a database with one
	 * connection (the embedded one). A participation's hunt and player never change, so each node
	 * remembers them rather than asking the database again on every report.
	 */
	private async huntOf(id: string, playerId: string): Promise<PlayedHunt> {
		let owner = this.owners.get(id);
		if (!owner) {
			owner = await this.store.huntOf(id);
			if (owner) {
				// Ids come from clients: bounded, and an unknown id is never remembered.
				if (this.owners.size >= OWNERS_KEPT) this.owners.clear();
				this.owners.set(id, owner);
			}
		}
		if (!owner || owner.playerId !== playerId) throw notFound("Participation");
		return this.hunt(owner.huntId);
	}

	/** The hunt changed (taken down, archived, hidden with its partner): read it afresh next time. */
	forget(huntId: string): void {
		this.played.delete(huntId.toLowerCase());
	}

	private async huntAfresh(huntId: string): Promise<PlayedHunt> {
		const hunt = compileHunt(await this.ports.playbook(huntId));
		this.keep(huntId, Promise.resolve(hunt));
		return hunt;
	}

	/**
	 * The hunt a participation plays. One taken back to a draft has no playbook any more: for its
	 * players it is simply no longer running.
	 */
	private async hunt(huntId: string): Promise<PlayedHunt> {
		try {
			return await this.keptHunt(huntId);
		} catch (err) {
			if (isAppError(err, "NOT_FOUND")) throw new AppError("HUNT_NOT_RUNNING", "The hunt was taken down");
			throw err;
		}
	}

	private keptHunt(huntId: string): Promise<PlayedHunt> {
		const key = huntId.toLowerCase();
		const kept = this.played.get(key);
		if (kept && this.ports.now() - kept.loadedAt < PLAYED_HUNT_TTL_MS) {
			// Most recently played last: the first entry is the one to drop.
			this.played.delete(key);
			this.played.set(key, kept);
			return kept.hunt;
		}
		const loading = this.ports.playbook(huntId).then(compileHunt);
		this.keep(huntId, loading);
		loading.catch(() => this.played.get(key)?.hunt === loading && this.played.delete(key));
		return loading;
	}

	private keep(huntId: string, hunt: Promise<PlayedHunt>): void {
		const key = huntId.toLowerCase();
		this.played.delete(key);
		this.played.set(key, { hunt, loadedAt: this.ports.now() });
		if (this.played.size > PLAYED_HUNTS_KEPT) this.played.delete(this.played.keys().next().value!);
		hunt.then(
			loaded => {
				if (this.titles.size >= OWNERS_KEPT) this.titles.clear();
				this.titles.set(key, loaded.playbook.title);
			},
			() => undefined,
		);
	}
}

function compileHunt(playbook: HuntPlaybook): PlayedHunt {
	const clues = new Map(playbook.clues.map(clue => [clue.id, clue]));
	return {
		playbook,
		clues,
		totalPoints: playbook.clues.reduce((total, clue) => total + clue.points, 0),
		play: {
			graph: compilePlayGraph({ clueIds: playbook.clues.map(clue => clue.id), paths: playbook.paths }),
			clues: new Map(playbook.clues.map(clue => [clue.id, { clueId: clue.id, position: clue.position, radiusM: clue.radiusM, hasChallenge: clue.challenge !== null }])),
		},
	};
}

/** Someone else's participation is answered as one that does not exist. */
function ownedBy(record: ParticipationRecord | undefined, playerId: string): ParticipationRecord {
	if (!record || record.playerId !== playerId) throw notFound("Participation");
	return record;
}

/** Join codes are shown in capitals; a player may type them in any case, with spaces around. */
function sameJoinCode(given: string | undefined, expected: string | null): boolean {
	if (!given || !expected) return false;
	const a = Buffer.from(given.trim().toUpperCase());
	const b = Buffer.from(expected.toUpperCase());
	return a.length === b.length && timingSafeEqual(a, b);
}

/** A hunt taken off (unpublished, archived, its partner suspended) refuses play, without closing anything. */
function assertRunning(hunt: PlayedHunt): void {
	const { status, partnerSuspended } = hunt.playbook;
	if (status !== "published" || partnerSuspended) throw new AppError("HUNT_NOT_RUNNING", status === "archived" ? "The hunt is over" : "The hunt is not available for now");
}

/** The hunt's end and the player's time limit, as the closing rules read them. */
function windowOf(playbook: HuntPlaybook): PlayWindow {
	return { endsAt: Date.parse(playbook.endsAt), timeLimitMinutes: playbook.timeLimitMinutes };
}

/** Past the hunt's end, or past the player's own time limit: why nothing more is played. */
function timeUpOf(hunt: PlayedHunt, record: ParticipationRecord, now: number): ClosedBy | undefined {
	return timeUp(windowOf(hunt.playbook), record.startedAt.getTime(), now);
}

/**
 * 409 unless the participation plays. One closed by time running out is told so in the words of the
 * moment it closed (HUNT_NOT_RUNNING), whether this request or the sweep closed it.
 */
function assertStillPlaying(hunt: PlayedHunt, record: ParticipationRecord): void {
	if (record.closedBy) throw timeUpError(hunt, record.closedBy);
	assertPlaying(record.state);
}

function timeUpError(hunt: PlayedHunt, closedBy: ClosedBy): AppError {
	const { endsAt, timeLimitMinutes } = hunt.playbook;
	return closedBy === "hunt_end" ? new AppError("HUNT_NOT_RUNNING", "The hunt is over", { endsAt }) : new AppError("HUNT_NOT_RUNNING", "Your time for this hunt is up", { timeLimitMinutes });
}

function solvedOf(record: ParticipationRecord): Set<string> {
	return new Set([...record.discoveries].filter(([, discovery]) => discovery.solvedAt).map(([clueId]) => clueId));
}

function snapshotOf(record: ParticipationRecord) {
	return { state: record.state, discovered: new Set(record.discoveries.keys()), solved: solvedOf(record), history: record.history, flagTimes: record.flagTimes };
}

function scoreOf(hunt: PlayedHunt, record: ParticipationRecord): number {
	return score({
		discoveredPoints: [...record.discoveries.keys()].map(clueId => hunt.clues.get(clueId)?.points ?? 0),
		hintCosts: [...record.hintsTaken.values()].flat(),
		...(record.completedAt
			? { completion: { elapsedMs: record.completedAt.getTime() - record.startedAt.getTime(), huntCluePoints: hunt.totalPoints, timeLimitMinutes: hunt.playbook.timeLimitMinutes ?? undefined } }
			: {}),
	}).total;
}

function discoveredView(hunt: PlayedHunt, record: ParticipationRecord, clueId: string): DiscoveredClueView {
	const clue = hunt.clues.get(clueId)!;
	const discovery = record.discoveries.get(clueId)!;
	const taken = record.hintsTaken.get(clueId)?.length ?? 0;
	return {
		clueId,
		title: clue.title,
		content: clue.content,
		points: clue.points,
		discoveredAt: discovery.discoveredAt.toISOString(),
		...(clue.challenge ? { challenge: { question: clue.challenge.question, solved: discovery.solvedAt !== null } } : {}),
		hintsUsed: clue.hints.slice(0, taken),
	};
}

function viewOf(hunt: PlayedHunt, record: ParticipationRecord): ParticipationView {
	const discovered = new Set(record.discoveries.keys());
	return {
		id: record.id,
		huntId: record.huntId,
		playerId: record.playerId,
		state: record.state,
		score: record.score,
		startedAt: record.startedAt.toISOString(),
		...(record.completedAt ? { completedAt: record.completedAt.toISOString() } : {}),
		...(record.closesAt ? { closesAt: record.closesAt.toISOString() } : {}),
		...(record.closedBy ? { closedBy: record.closedBy } : {}),
		targets: targetsOf(hunt.play, discovered, solvedOf(record)).map(target => ({ clueId: target.clueId, zone: hunt.clues.get(target.clueId)!.zone })),
		discovered: [...record.discoveries].sort(([, a], [, b]) => a.discoveredAt.getTime() - b.discoveredAt.getTime()).map(([clueId]) => discoveredView(hunt, record, clueId)),
	};
}
