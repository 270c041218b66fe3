/**
 * The game: players join published hunts and walk them; every position, answer and hint is decided
 * here, never by the phone. The rules are domain/gameplay/ (play-flows.ts and the pure rules beside
 * it); this file maps them to actions and REST routes. A hunt's clues come from the hunts service's
 * playbook, called as this service.
 */
import { gameplayContract } from "../contracts/gameplay";
import { answerMatches } from "../domain/hunts/answers";
import { PlayFlows } from "../domain/gameplay/play-flows";
import { GAMEPLAY_MIGRATIONS, PlayStore } from "../domain/gameplay/play-store";
import { PlayHistory } from "../domain/gameplay/play-history";
import { isAppError } from "../platform/errors/app-error";
import { ParticipationCache } from "../domain/gameplay/participation-cache";
import { changeOriginOf } from "../platform/moleculer/audit";
import { userOf } from "../platform/moleculer/authorization";
import { defineService } from "../platform/moleculer/define-service";
import { created } from "../platform/moleculer/responses";
import { callAsService } from "../platform/moleculer/service-identity";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import { ServiceDatabase } from "../mixins/database.mixin";
import type { ServiceDeps } from "./deps";

export function createGameplayService({ backends }: ServiceDeps) {
	const database = new ServiceDatabase(backends, "gameplay", GAMEPLAY_MIGRATIONS);
	let flows!: PlayFlows;
	let history!: PlayHistory;
	let closing: NodeJS.Timeout | undefined;

	return defineService(gameplayContract, {
		mixins: [database.mixin(), AccessControlMixin()],
		settings: { rest: "/" },

		actions: {
			join: {
				rest: "POST /hunts/:id/join",
				access: "user",
				// A join code in a URL ends up in logs and browser history.
				secrets: ["code"],
				openapi: {
					summary: "Join a running hunt (a private one with its join code)",
					tags: ["play"],
					successStatus: 201,
					responses: {
						"403": { description: "JOIN_CODE_INVALID" },
						"404": { description: "No such hunt to play" },
						"409": { description: "ALREADY_JOINED (details.participationId), HUNT_FULL or HUNT_NOT_RUNNING" },
					},
				},
				async handler(ctx) {
					const participation = await flows.join(ctx.params.id, userOf(ctx).userId, ctx.params.code);
					return created(ctx, `/api/participations/${participation.id}`, participation);
				},
			},

			get: {
				rest: "GET /participations/:id",
				access: "user",
				openapi: { summary: "Your participation: the search zones of the clues you look for, the clues you found, your score", tags: ["play"] },
				handler(ctx) {
					return flows.view(ctx.params.id, userOf(ctx).userId);
				},
			},

			report: {
				rest: "POST /participations/:id/locations",
				access: "user",
				openapi: {
					summary: "Report where you are; the server decides what you found",
					tags: ["play"],
					responses: { "409": { description: "PARTICIPATION_STATE (completed, suspended or disqualified) or HUNT_NOT_RUNNING (over, or your time limit passed)" } },
				},
				handler(ctx) {
					const { id, ...fix } = ctx.params;
					return flows.report(id, userOf(ctx).userId, fix, changeOriginOf(ctx));
				},
			},

			answer: {
				rest: "POST /participations/:id/answers",
				access: "user",
				secrets: ["answer"],
				openapi: {
					summary: "Answer a found clue's challenge; a right answer opens the paths beyond it",
					tags: ["play"],
					responses: { "404": { description: "No such clue among those you found" }, "429": { description: "TOO_MANY_ATTEMPTS; see Retry-After" } },
				},
				handler(ctx) {
					return flows.answer(ctx.params.id, userOf(ctx).userId, ctx.params.clueId.toLowerCase(), ctx.params.answer);
				},
			},

			hint: {
				rest: "POST /participations/:id/hints",
				access: "user",
				openapi: {
					summary: "Take the next hint of a clue you found; it costs its points",
					tags: ["play"],
					responses: { "404": { description: "No such clue among those you found" }, "409": { description: "NO_MORE_HINTS" } },
				},
				handler(ctx) {
					return flows.hint(ctx.params.id, userOf(ctx).userId, ctx.params.clueId.toLowerCase());
				},
			},

			liveState: {
				// The REPL's `play <huntId>`.
				access: "admin",
				handler(ctx) {
					return flows.liveState(ctx.params.huntId);
				},
			},

			inspect: {
				// The REPL's `participation <id>`.
				access: "admin",
				handler(ctx) {
					return flows.inspect(ctx.params.id);
				},
			},

			standings: {
				// The leaderboards rebuild a hunt's board from this.
				access: "service",
				handler(ctx) {
					return flows.standings(ctx.params.huntId);
				},
			},

			history: {
				// Partner analytics rebuild a hunt's projection from this.
				access: "service",
				async handler(ctx) {
					const { huntId, after, limit } = ctx.params;
					const hunt = await callAsService(ctx.broker, "gameplay", "hunts.playbook", { id: huntId }, ctx).catch(err => (isAppError(err, "NOT_FOUND") ? undefined : Promise.reject(err)));
					const names = { huntTitle: hunt?.title ?? "", clueTitles: new Map(hunt?.clues.map(clue => [clue.id, clue.title])) };
					return history.page(huntId.toLowerCase(), after?.toLowerCase(), limit, names);
				},
			},

			standingOf: {
				// Rewards decide who may claim from this.
				access: "service",
				handler(ctx) {
					return flows.standingOf(ctx.params.huntId.toLowerCase(), ctx.params.playerId.toLowerCase());
				},
			},

			reviewQueue: {
				rest: "GET /admin/participations",
				access: "admin",
				openapi: { summary: "Participations waiting for a review (suspended by repeated cheat flags), with every flag and its evidence", tags: ["admin", "play"] },
				handler(ctx) {
					return flows.reviewQueue(ctx.params.state, ctx.params.limit);
				},
			},

			review: {
				rest: "POST /admin/participations/:id/review",
				access: "admin",
				openapi: {
					summary: "Decide on a suspended participation: reinstate it, or disqualify the player (off the leaderboard); on the record",
					tags: ["admin", "play"],
					responses: { "409": { description: "PARTICIPATION_STATE: only a suspended participation is reviewed" } },
				},
				handler(ctx) {
					return flows.review(ctx.params.id, ctx.params.decision, ctx.params.note, changeOriginOf(ctx));
				},
			},
		},

		events: {
			// Taken down, archived, hidden with its partner or shown again: every node reads it afresh.
			"hunt.visibility.changed"(ctx) {
				flows?.forget((ctx.params as { huntId: string }).huntId);
			},
		},

		started() {
			const broker = this.broker;
			const store = new PlayStore(database.db, "gameplay");
			history = new PlayHistory(database.db, "gameplay");
			const { transporter, storeUrl } = backends.config;
			// A store per node cannot be a cache nodes share: there the database is.
			const sharedStore = !transporter || storeUrl.startsWith("redis");
			flows = new PlayFlows(store, new ParticipationCache(store, sharedStore ? backends.keyValueStore() : undefined), database.outbox, {
				playbook: huntId => callAsService(broker, "gameplay", "hunts.playbook", { id: huntId }),
				answerMatches,
				now: Date.now,
			});
			// Participations whose time ran out while idle; their standings reach the boards within a sweep.
			const { closingSweepMs } = backends.config.play;
			if (closingSweepMs > 0) {
				closing = setInterval(() => {
					flows.closeDue().catch(err => this.logger.warn("Closing participations whose time is up failed; the next sweep retries", err));
				}, closingSweepMs);
				closing.unref();
			}
		},

		stopped() {
			clearInterval(closing);
		},
	});
}
