/**
 * Hunts: partners' members design drafts (details, clues, paths) and publish them; anyone sees a
 * published hunt's public view. The rules are domain/hunts (lifecycle, validation, zones, the clue
 * graph); this file maps them to actions and REST routes, with partner-scoped access.
 */
import { UUID_PATTERN } from "../contracts/identity";
import type { Context, Logger } from "moleculer";
import { HUNTS_CHANNEL, huntsContract, type PublicHuntView } from "../contracts/hunts";
import { PARTNER_STATUS_CHANNEL } from "../contracts/partners";
import type { Caller } from "../contracts/identity";
import { isAppError, notFound } from "../platform/errors/app-error";
import { changeOriginOf } from "../platform/moleculer/audit";
import { callerOf, userOf } from "../platform/moleculer/authorization";
import { broadcast, emit } from "../platform/moleculer/contract-calls";
import { ViewCache } from "../platform/cache/view-cache";
import { createHash } from "node:crypto";
import { defineService } from "../platform/moleculer/define-service";
import { created, noContent } from "../platform/moleculer/responses";
import { callAsService } from "../platform/moleculer/service-identity";
import { isAdmin } from "../platform/identity/access";
import type { ClueGraph } from "../domain/hunts/clue-graph/clue-graph";
import { Neo4jClueGraph } from "../domain/hunts/clue-graph/neo4j-clue-graph";
import { SqlClueGraph } from "../domain/hunts/clue-graph/sql-clue-graph";
import { HuntFlows, type PartnerInfo } from "../domain/hunts/hunt-flows";
import { HuntStore, HUNTS_MIGRATIONS } from "../domain/hunts/hunt-store";
import { OpenSearchHuntIndex } from "../domain/hunts/hunt-text-index";
import { HuntTextMirror } from "../domain/hunts/hunt-text-mirror";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import { ServiceDatabase } from "../mixins/database.mixin";
import type { ServiceDeps } from "./deps";

/** How long a cached public view or search may outlive a change whose broadcast it missed. */
const PUBLIC_VIEW_TTL_SECONDS = 60;
const SEARCH_TTL_SECONDS = 15;
/** How soon an OpenSearch index that missed changes is reconciled again, and how often its failures are logged. */
const TEXT_INDEX_RETRY_MS = 60_000;

export function createHuntsService({ config, backends }: ServiceDeps) {
	const database = new ServiceDatabase(backends, "hunts", HUNTS_MIGRATIONS);
	let flows!: HuntFlows;
	let graph!: ClueGraph;
	let cache!: ViewCache;
	/** With OPENSEARCH_URL: text searches go to OpenSearch, kept by following hunts.changed. */
	let textIndex: OpenSearchHuntIndex | undefined;
	let textMirror: HuntTextMirror | undefined;
	let reconcileTimer: NodeJS.Timeout | undefined;
	/** A reconcile was asked for while one ran: it runs again once that one ends. */
	let reconcileAgain = false;
	/** Searches go to OpenSearch once it has been reconciled: until then it may be empty (a new or lost index). */
	let textIndexReady = false;
	let stopping = false;
	let logger!: Logger;

	/** Reconciles the OpenSearch index in the background, `delayMs` from now, unless one is due or running (then once more after it). */
	const scheduleReconcile = (delayMs: number) => {
		if (!textMirror || stopping) return;
		if (reconcileTimer) {
			reconcileAgain = true;
			return;
		}
		reconcileTimer = setTimeout(async () => {
			reconcileAgain = false;
			try {
				const { indexed, removed } = await textMirror!.reconcile(() => stopping);
				textIndexReady = true;
				if (!stopping) logger.info(`OpenSearch hunt index reconciled: ${indexed} listed hunts, ${removed} dropped`);
				reconcileTimer = undefined;
				if (reconcileAgain) scheduleReconcile(0);
			} catch (err) {
				reconcileTimer = undefined;
				if (stopping) return;
				logger.warn(`Could not reconcile the OpenSearch hunt index; trying again in ${TEXT_INDEX_RETRY_MS / 1000} s: ${(err as Error).message}`);
				scheduleReconcile(TEXT_INDEX_RETRY_MS);
			}
		}, delayMs);
		reconcileTimer.unref();
	};

	/** After a change players see: every node drops its copies (its own handler below included). */
	const visibilityChanged = (ctx: Context, huntId: string) => broadcast(ctx.broker, "hunt.visibility.changed", { huntId, at: new Date().toISOString() });

	/** The hunt's partner, for partner-scoped access: none for an id that is not a hunt's. */
	const partnerOfHunt = (params: Record<string, unknown>) => (typeof params.id === "string" && UUID_PATTERN.test(params.id) ? flows.partnerOf(params.id) : undefined);
	const editor = { access: { partner: "editor" as const }, partnerOf: partnerOfHunt };

	/** The partner as the partners service sees it now; one that is not verified answers no public view. */
	const partnerInfo = async (ctx: Context, partnerId: string): Promise<PartnerInfo> => {
		try {
			const partner = await callAsService(ctx.broker, "hunts", "partners.get", { id: partnerId }, ctx);
			return { id: partner.id, name: partner.name, status: partner.status };
		} catch (err) {
			if (isAppError(err, "NOT_FOUND")) return { id: partnerId, name: "", status: "pending" };
			throw err;
		}
	};

	/**
	 * Members and admins see drafts and clues. Membership as it is now, asked of the partners
	 * service: the token's copy may predate the partner (or a removal).
	 */
	const membership =
		(ctx: Context, caller: Caller) =>
		async (partnerId: string): Promise<boolean> => {
			if (isAdmin(caller)) return true;
			if (caller.kind !== "user") return false;
			const memberships = await callAsService(ctx.broker, "hunts", "partners.membershipsOf", { userId: caller.userId }, ctx);
			return Object.hasOwn(memberships, partnerId);
		};

	return defineService(huntsContract, {
		mixins: [database.mixin(), AccessControlMixin()],
		settings: { rest: "/" },

		actions: {
			create: {
				rest: "POST /hunts",
				access: { partner: "editor", param: "partnerId" },
				openapi: {
					summary: "Create a draft hunt for a verified partner you are a member of",
					tags: ["hunts"],
					successStatus: 201,
					responses: { "409": { description: "PARTNER_NOT_ACTIVE: the partner is not verified" } },
				},
				async handler(ctx) {
					const hunt = await flows.create(await partnerInfo(ctx, ctx.params.partnerId), ctx.params, userOf(ctx).userId);
					return created(ctx, `/api/hunts/${hunt.id}`, hunt);
				},
			},

			get: {
				rest: "GET /hunts/:id",
				access: "public",
				openapi: { summary: "A hunt: the members' view for its partner's members and admins, the public view of a published hunt for anyone", tags: ["hunts"] },
				async handler(ctx) {
					const isMember = membership(ctx, callerOf(ctx));
					// A cached public view serves everyone but the hunt's partner's members (and admins).
					const cached = await cache.get<PublicHuntView>(`public:${ctx.params.id}`);
					if (cached && !(await isMember(cached.partner.id))) return cached;
					const view = await flows.view(ctx.params.id, isMember);
					if (!("clues" in view)) await cache.set(`public:${ctx.params.id}`, view, PUBLIC_VIEW_TTL_SECONDS);
					return view;
				},
			},

			update: {
				rest: "PATCH /hunts/:id",
				...editor,
				openapi: { summary: "Change a draft's details", tags: ["hunts"], responses: { "409": { description: "HUNT_FROZEN: only a draft changes" } } },
				handler(ctx) {
					const { id, ...changes } = ctx.params;
					return flows.update(id, changes);
				},
			},

			ofPartner: {
				rest: "GET /partners/:partnerId/hunts",
				access: { partner: "member", param: "partnerId" },
				openapi: { summary: "A partner's hunts, drafts included, newest first (its members)", tags: ["hunts", "partners"] },
				async handler(ctx) {
					return { items: await flows.ofPartner(ctx.params.partnerId, ctx.params.status, ctx.params.limit) };
				},
			},

			addClue: {
				rest: "POST /hunts/:id/clues",
				...editor,
				openapi: { summary: "Add a clue to a draft", tags: ["hunts"], successStatus: 201, responses: { "409": { description: "HUNT_FROZEN" } } },
				async handler(ctx) {
					const { id, ...clue } = ctx.params;
					return created(ctx, `/api/hunts/${id}/clues`, await flows.addClue(id, clue));
				},
			},

			updateClue: {
				rest: "PATCH /hunts/:id/clues/:clueId",
				...editor,
				openapi: { summary: "Change a draft's clue (a new challenge answer replaces the old one, which is never shown)", tags: ["hunts"], responses: { "409": { description: "HUNT_FROZEN" } } },
				handler(ctx) {
					const { id, clueId, ...changes } = ctx.params;
					return flows.updateClue(id, clueId, changes);
				},
			},

			removeClue: {
				rest: "DELETE /hunts/:id/clues/:clueId",
				...editor,
				openapi: { summary: "Remove a draft's clue and the paths touching it", tags: ["hunts"], successStatus: 204, responses: { "409": { description: "HUNT_FROZEN" } } },
				async handler(ctx) {
					await flows.removeClue(ctx.params.id, ctx.params.clueId);
					noContent(ctx);
				},
			},

			setPaths: {
				rest: "PUT /hunts/:id/paths",
				...editor,
				openapi: { summary: "Set a draft's clue graph: the paths between its clues", tags: ["hunts"], responses: { "409": { description: "HUNT_FROZEN" } } },
				handler(ctx) {
					return flows.setPaths(ctx.params.id, ctx.params.paths);
				},
			},

			publish: {
				rest: "POST /hunts/:id/publish",
				...editor,
				openapi: {
					summary: "Validate the whole hunt and publish it",
					tags: ["hunts"],
					responses: {
						"409": { description: "HUNT_STATE (not a draft), PARTNER_NOT_ACTIVE, or CONFLICT (changed meanwhile: publish again)" },
						"422": { description: "HUNT_INVALID: details.problems lists every problem ({ code, clueId?, message })" },
					},
				},
				async handler(ctx) {
					const partnerId = await flows.partnerOf(ctx.params.id);
					const hunt = await flows.publish(ctx.params.id, await partnerInfo(ctx, partnerId ?? ""), changeOriginOf(ctx));
					await visibilityChanged(ctx, hunt.id);
					void emit(ctx, "hunt.published", { huntId: hunt.id, partnerId: hunt.partnerId, at: hunt.publishedAt ?? new Date().toISOString() });
					return hunt;
				},
			},

			archive: {
				rest: "POST /hunts/:id/archive",
				...editor,
				openapi: { summary: "Archive a hunt: players no longer find or join it", tags: ["hunts"], responses: { "409": { description: "HUNT_STATE" } } },
				async handler(ctx) {
					const hunt = await flows.archive(ctx.params.id, changeOriginOf(ctx));
					await visibilityChanged(ctx, hunt.id);
					void emit(ctx, "hunt.archived", { huntId: hunt.id, partnerId: hunt.partnerId, at: hunt.updatedAt });
					return hunt;
				},
			},

			unpublish: {
				rest: "POST /admin/hunts/:id/unpublish",
				access: "admin",
				openapi: { summary: "Take a published hunt down, back to a draft, with the reason (audited)", tags: ["admin", "hunts"], responses: { "409": { description: "HUNT_STATE" } } },
				async handler(ctx) {
					const hunt = await flows.unpublish(ctx.params.id, ctx.params.reason, changeOriginOf(ctx));
					await visibilityChanged(ctx, hunt.id);
					void emit(ctx, "hunt.unpublished", { huntId: hunt.id, partnerId: hunt.partnerId, reason: ctx.params.reason, at: hunt.updatedAt });
					return hunt;
				},
			},

			search: {
				rest: "GET /hunts",
				access: "public",
				openapi: {
					summary: "Find published public hunts: near a point (nearest first, with distanceM), by text and tags (best match first), or both",
					description:
						'`lat` and `lon` go together; `radius` is in metres (default 10 km, at most 50 km). `q` takes words, "phrases" and -exclusions. `tags` is comma-separated; a hunt must carry every one. Pass `next` as `cursor` for the following page.',
					tags: ["hunts"],
				},
				async handler(ctx) {
					const search = () =>
						flows.search(ctx.params, async ({ lat, lon, radiusM, limit }) => (await callAsService(ctx.broker, "hunts", "geo.nearby", { lat, lon, radiusM, limit: limit ?? 100_000 }, ctx)).items);
					// Searches near a point seldom repeat to the metre, and each page's views are cached anyway:
					// only text and tag searches, which many players repeat, are kept whole.
					if (ctx.params.lat !== undefined) return search();
					const key = `search:${createHash("sha256")
						.update(JSON.stringify(Object.entries(ctx.params).sort()))
						.digest("base64url")}`;
					const cached = await cache.get<Awaited<ReturnType<HuntFlows["search"]>>>(key);
					if (cached) return cached;
					const found = await search();
					await cache.set(key, found, SEARCH_TTL_SECONDS);
					return found;
				},
			},

			adminList: {
				rest: "GET /admin/hunts",
				access: "admin",
				openapi: { summary: "Every partner's hunts, by status and partner, newest first", tags: ["admin", "hunts"] },
				async handler(ctx) {
					const { status, partnerId, limit } = ctx.params;
					return { items: await flows.list({ ...(status ? { status } : {}), ...(partnerId ? { partnerId } : {}) }, limit) };
				},
			},

			inspect: {
				// The REPL's `hunt <id>`.
				access: "admin",
				handler(ctx) {
					return flows.inspect(ctx.params.id);
				},
			},

			ownerOf: {
				access: "service",
				async handler(ctx) {
					const partnerId = await flows.partnerOf(ctx.params.id);
					if (!partnerId) throw notFound("Hunt");
					return { partnerId };
				},
			},

			playbook: {
				// The gameplay service decides players' reports from this, kept in memory per hunt.
				access: "service",
				handler(ctx) {
					return flows.playbook(ctx.params.id);
				},
			},

			listed: {
				// The geo index (and search indexes) rebuild themselves from this.
				access: "service",
				handler(ctx) {
					return flows.listed(ctx.params.after, ctx.params.limit);
				},
			},

			rotateJoinCode: {
				rest: "POST /hunts/:id/join-code",
				...editor,
				openapi: { summary: "Give a private hunt a new join code (the old one stops working)", tags: ["hunts"], responses: { "409": { description: "CONFLICT: a public hunt has no code" } } },
				handler(ctx) {
					return flows.rotateJoinCode(ctx.params.id);
				},
			},
		},

		channels: {
			...(config.opensearchUrl
				? {
						[HUNTS_CHANNEL]: {
							group: "hunts-text-index",
							// follow() reads the hunt as it is now: a change applied twice or late leaves the index right.
							async handler(ctx: Context<{ huntId: string }>) {
								try {
									await textMirror!.follow(ctx.params.huntId);
								} catch (err) {
									// The index is a copy: rather than dead-letter the change, reconcile it all once OpenSearch answers.
									this.logger.warn(`Could not update the OpenSearch hunt index for ${ctx.params.huntId}; reconciling it later: ${(err as Error).message}`);
									scheduleReconcile(TEXT_INDEX_RETRY_MS);
									return;
								}
								await visibilityChanged(ctx, ctx.params.huntId);
							},
						},
					}
				: {}),
			[PARTNER_STATUS_CHANNEL]: {
				group: "hunts",
				async handler(ctx) {
					let affected: string[] = [];
					await database.consumeOnce(ctx, async (messages, db) => {
						affected = await flows.partnerStatusChanged(ctx.params, messages, db);
					});
					for (const huntId of affected) await visibilityChanged(ctx, huntId);
				},
			},
		},

		events: {
			async "hunt.visibility.changed"(ctx) {
				const { huntId } = ctx.params as { huntId: string };
				await Promise.all([cache.clean(`public:${huntId}`), cache.clean(`listed:${huntId}`), cache.clean("search:*")]);
			},
			// The geo index takes a change in after it was broadcast: what a search cached in between (a
			// whole search, or a view it read just before the change) goes again.
			async "geo.hunts.moved"(ctx) {
				await Promise.all([cache.clean(`listed:${ctx.params.huntId}`), cache.clean("search:*")]);
			},
		},

		started() {
			stopping = false;
			logger = this.logger;
			cache = new ViewCache(this.broker, "hunts");
			// Published on the service for the bench and operators (hit rates).
			Object.assign(this, { viewCache: cache });
			graph = config.neo4jUrl ? new Neo4jClueGraph({ url: config.neo4jUrl }) : new SqlClueGraph(database.db, "hunts");
			const store = new HuntStore(database.db, "hunts");
			let lastFailureLogged = 0;
			if (config.opensearchUrl) {
				textIndex = new OpenSearchHuntIndex({ url: config.opensearchUrl, namespace: config.namespace });
				textMirror = new HuntTextMirror(store, textIndex);
			}
			flows = new HuntFlows(store, database.outbox, graph, {
				...(textIndex ? { textIndex: { search: (query, offset, limit) => (textIndexReady ? textIndex!.search(query, offset, limit) : Promise.resolve(undefined)) } } : {}),
				// Views of listed hunts only, written by searches from the table; every change of the hunt drops
				// its entry. Not GET /api/hunts/:id's entries: those hold any published hunt, private ones too.
				publicViews: {
					get: ids => Promise.all(ids.map(id => cache.get<PublicHuntView>(`listed:${id}`))),
					set: async views => void (await Promise.all(views.map(view => cache.set(`listed:${view.id}`, view, PUBLIC_VIEW_TTL_SECONDS)))),
				},
				onTextIndexFailure: err => {
					// Searches go on from PostgreSQL; one line a minute says so, not one per search.
					if (Date.now() - lastFailureLogged < TEXT_INDEX_RETRY_MS) return;
					lastFailureLogged = Date.now();
					this.logger.warn(`OpenSearch hunt search failed; answering from PostgreSQL: ${err.message}`);
				},
			});
			// Start-up neither waits for nor fails with OpenSearch.
			scheduleReconcile(0);
		},

		async stopped() {
			stopping = true;
			clearTimeout(reconcileTimer);
			reconcileTimer = undefined;
			reconcileAgain = false;
			textIndexReady = false;
			await graph?.close();
			await textIndex?.close();
		},
	});
}
