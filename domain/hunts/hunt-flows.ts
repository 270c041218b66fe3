/**
 * What partners do with their hunts and what players see of them, over the hunt store, the clue
 * graph and the outbox. No Moleculer here: the hunts service maps actions onto these methods.
 *
 * Publishing, step by step:
 * 1. a snapshot of the draft (details, clues, paths) is validated whole: the clue graph engine
 *    answers the graph's problems, huntProblems the rest; any problem is 422 HUNT_INVALID with all of them;
 * 2. each clue gets its search zone, drawn once;
 * 3. in one transaction: the draft must be unchanged since the snapshot (else 409 CONFLICT, try
 *    again), it becomes published with its zones, and the announcement (hunts.changed) and the
 *    audit fact are written with it.
 */
import { HUNTS_CHANNEL, type ClueView, type HuntPlaybook, type HuntView, type NewClue, type NewHunt, type PublicHuntView } from "../../contracts/hunts";
import { writeAuditFactFrom, type ChangeOrigin } from "../audit/facts";
import { AppError, notFound } from "../../platform/errors/app-error";
import type { MessageWriter, Outbox } from "../../platform/outbox/outbox";
import type { SqlClient } from "../../platform/sql";
import { hashAnswer } from "./answers";
import type { ClueGraph, CluePath } from "./clue-graph/clue-graph";
import { assertEditable, nextStatus } from "./hunt-lifecycle";
import { HuntStore, newJoinCode, type ClueDetails, type ClueRecord, type HuntDetails, type HuntRecord } from "./hunt-store";
import { huntProblems, splitPaths, type HuntProblem } from "./hunt-validation";
import { boxAround } from "./geo";
import type { HuntTextHit, HuntTextQuery } from "./hunt-text-index";
import { searchZoneFor, ZONE_RADIUS_DEFAULT_M, type SearchZone } from "./search-zones";

export interface PartnerInfo {
	id: string;
	name: string;
	status: "pending" | "verified" | "suspended";
}

type HuntChanges = Partial<Omit<NewHunt, "partnerId">>;
type ClueChanges = Partial<Omit<NewClue, "id">>;

const huntSubject = (id: string) => ({ type: "hunt", id });

export interface HuntFlowsOptions {
	/** Text searches go there (OpenSearch); PostgreSQL answers them without one, or when it fails. */
	/** Undefined from `search` means it cannot answer yet (an index still being filled): PostgreSQL answers. */
	textIndex?: { search(query: HuntTextQuery, offset: number, limit: number): Promise<HuntTextHit[] | undefined> };
	onTextIndexFailure?: (err: Error) => void;
	/** Public views many searches share (the broker's cacher); a hunt's change must drop its entry. */
	publicViews?: { get(ids: readonly string[]): Promise<Array<PublicHuntView | undefined>>; set(views: readonly PublicHuntView[]): Promise<void> };
	clock?: () => Date;
	zoneFor?: (place: { lat: number; lon: number }, radiusM: number) => SearchZone;
}

export class HuntFlows {
	private readonly clock: () => Date;
	private readonly zoneFor: (place: { lat: number; lon: number }, radiusM: number) => SearchZone;

	constructor(
		private readonly hunts: HuntStore,
		private readonly outbox: Outbox,
		private readonly graph: ClueGraph,
		private readonly options: HuntFlowsOptions = {},
	) {
		this.clock = options.clock ?? (() => new Date());
		this.zoneFor = options.zoneFor ?? searchZoneFor;
	}

	/** Only members of a verified partner create hunts (membership is the access rule's; the status is checked here). */
	async create(partner: PartnerInfo, input: NewHunt, createdBy: string): Promise<HuntView> {
		if (partner.status !== "verified") throw new AppError("PARTNER_NOT_ACTIVE", "Only a verified partner's members create hunts", { partnerId: partner.id, status: partner.status });
		const { partnerId: _partnerId, ...fields } = input;
		const hunt = await this.hunts.create(partner, detailsOf(fields), createdBy);
		return this.membersView(hunt);
	}

	/** The members' view for the partner's members and admins; the public view of a published hunt for anyone else. */
	async view(id: string, isMember: (partnerId: string) => Promise<boolean>): Promise<HuntView | PublicHuntView> {
		const hunt = await this.hunts.get(id);
		if (!hunt) throw notFound("Hunt");
		if (await isMember(hunt.partnerId)) return this.membersView(hunt);
		if (hunt.status !== "published" || hunt.partnerSuspended) throw notFound("Hunt");
		return this.publicView(hunt);
	}

	async ofPartner(partnerId: string, status: HuntRecord["status"] | undefined, limit: number): Promise<HuntView[]> {
		return Promise.all((await this.hunts.ofPartner(partnerId, status, limit)).map(hunt => this.membersView(hunt)));
	}

	async list(filter: { status?: HuntRecord["status"]; partnerId?: string }, limit: number): Promise<HuntView[]> {
		return Promise.all((await this.hunts.list(filter, limit)).map(hunt => this.membersView(hunt)));
	}

	/**
	 * What the gameplay service plays a hunt from. Only a published hunt is played, and an archived
	 * one keeps answering for the participations it had: both are frozen, so the answer may be kept.
	 * A draft (never published, or taken back by moderation) is no one's to play: 404.
	 */
	async playbook(id: string): Promise<HuntPlaybook> {
		const hunt = await this.hunts.get(id);
		if (!hunt || hunt.status === "draft") throw notFound("Hunt");
		const [clues, paths] = await Promise.all([this.hunts.clues(id), this.hunts.paths(id)]);
		return {
			id: hunt.id,
			partnerId: hunt.partnerId,
			title: hunt.title,
			status: hunt.status,
			partnerSuspended: hunt.partnerSuspended,
			startsAt: hunt.startsAt,
			endsAt: hunt.endsAt,
			visibility: hunt.visibility,
			capacity: hunt.capacity,
			timeLimitMinutes: hunt.timeLimitMinutes,
			joinCode: hunt.joinCode,
			clues: clues.map(clue => {
				// Publication gave every clue its zone and froze them; a clue without one is a broken row.
				if (!clue.zone) throw new AppError("INTERNAL_ERROR", `Clue ${clue.id} of published hunt ${id} has no search zone`);
				// The members' view of the clue, with the answer's hash (only ever compared) and the zone.
				const { challenge: _question, ...view } = clueView(clue);
				return { ...view, challenge: clue.challenge && clue.answerHash ? { question: clue.challenge.question, answerHash: clue.answerHash } : null, zone: clue.zone };
			}),
			paths,
		};
	}

	/** For operators: the hunt, what stands between it and publication, its graph's ends and its zones. */
	async inspect(id: string) {
		const hunt = await this.hunts.get(id);
		if (!hunt) throw notFound("Hunt");
		const { clues, problems, starts } = await this.validate(hunt);
		return {
			hunt: await this.membersView(hunt),
			problems,
			starts,
			finishes: await this.graph.finishes(id),
			zones: clues.map(clue => ({ clueId: clue.id, zone: clue.zone })),
		};
	}

	/** The hunt as it stands, checked whole: its clues, every problem, and its start clues. */
	private async validate(hunt: HuntRecord): Promise<{ clues: ClueRecord[]; problems: HuntProblem[]; starts: string[] }> {
		const [clues, paths] = await Promise.all([this.hunts.clues(hunt.id), this.hunts.paths(hunt.id)]);
		const { known, unknown } = splitPaths(new Set(clues.map(clue => clue.id)), paths);
		await this.graph.replace(
			hunt.id,
			clues.map(clue => clue.id),
			known,
		);
		const [graphProblems, starts] = await Promise.all([this.graph.problems(hunt.id), this.graph.starts(hunt.id)]);
		return { clues, problems: huntProblems({ ...hunt, clues }, unknown, graphProblems, this.clock()), starts };
	}

	partnerOf(huntId: string): Promise<string | undefined> {
		return this.hunts.partnerOf(huntId);
	}

	update(id: string, changes: HuntChanges): Promise<HuntView> {
		return this.editing(id, async (hunts, hunt) => {
			const { joinCode: _code, ...current } = hunt;
			await hunts.updateDetails(id, detailsOf({ ...current, ...dropUndefined(changes) }));
		});
	}

	async addClue(id: string, input: Omit<NewClue, "id">): Promise<ClueView> {
		const details = await clueDetailsOf(input);
		let added!: ClueRecord;
		await this.editing(id, async hunts => {
			added = await hunts.addClue(id, details);
			await hunts.touch(id);
		});
		return clueView(added);
	}

	async updateClue(id: string, clueId: string, changes: ClueChanges): Promise<ClueView> {
		const existing = await this.hunts.clue(id, clueId);
		if (!existing) throw notFound("Clue");
		// A new answer is hashed; an unchanged one keeps its hash (it cannot be read back to hash again).
		const { challenge, ...rest } = changes;
		const base = { title: existing.title, position: existing.position, radiusM: existing.radiusM, content: existing.content, hints: existing.hints, points: existing.points };
		const details = await clueDetailsOf({ ...base, ...dropUndefined(rest) }, challenge === undefined ? { question: existing.challenge?.question ?? null, answerHash: existing.answerHash } : challenge);
		let updated: ClueRecord | undefined;
		await this.editing(id, async hunts => {
			updated = await hunts.updateClue(id, clueId, details);
			if (!updated) throw notFound("Clue");
			await hunts.touch(id);
		});
		return clueView(updated!);
	}

	async removeClue(id: string, clueId: string): Promise<void> {
		await this.editing(id, async hunts => {
			if (!(await hunts.removeClue(id, clueId))) throw notFound("Clue");
			await hunts.touch(id);
		});
	}

	setPaths(id: string, paths: readonly CluePath[]): Promise<HuntView> {
		return this.editing(id, async hunts => {
			await hunts.replacePaths(id, paths);
			await hunts.touch(id);
		});
	}

	async publish(id: string, partner: PartnerInfo, origin: ChangeOrigin): Promise<HuntView> {
		const hunt = await this.hunts.get(id);
		if (!hunt) throw notFound("Hunt");
		nextStatus(hunt.status, "publish");
		if (partner.status !== "verified") throw new AppError("PARTNER_NOT_ACTIVE", "Only a verified partner's hunts are published", { partnerId: partner.id, status: partner.status });
		const { clues, problems, starts } = await this.validate(hunt);
		if (problems.length) throw new AppError("HUNT_INVALID", `${problems.length} problem${problems.length > 1 ? "s" : ""} to fix before publishing`, { problems });
		const zones = new Map<string, SearchZone>(clues.map(clue => [clue.id, this.zoneFor(clue.position, hunt.zoneRadiusM)]));
		const publishedAt = this.clock();
		return this.changing(id, hunt.revision, async (hunts, messages) => {
			await hunts.setZones(id, zones);
			await hunts.setPublicFacts(
				id,
				clues.length,
				starts.map(clueId => ({ clueId, zone: zones.get(clueId)! })),
			);
			await hunts.setStatus(id, "published", { publishedAt, moderationReason: null });
			await messages.add(
				HUNTS_CHANNEL,
				{ huntId: id, partnerId: hunt.partnerId, kind: "published", area: hunt.area, visibility: hunt.visibility, at: publishedAt.toISOString() },
				{ partitionKey: id },
			);
			await writeAuditFactFrom(messages, origin, { action: "hunts.published", subject: huntSubject(id), data: { clues: clues.length } });
		});
	}

	archive(id: string, origin: ChangeOrigin): Promise<HuntView> {
		return this.changing(id, undefined, async (hunts, messages, hunt) => {
			await hunts.setStatus(id, nextStatus(hunt.status, "archive"));
			const at = this.clock().toISOString();
			await messages.add(HUNTS_CHANNEL, { huntId: id, partnerId: hunt.partnerId, kind: "archived", at }, { partitionKey: id });
			await writeAuditFactFrom(messages, origin, { action: "hunts.archived", subject: huntSubject(id) });
		});
	}

	/** An admin takes a published hunt down, back to a draft its partner may fix and publish again. */
	unpublish(id: string, reason: string, origin: ChangeOrigin): Promise<HuntView> {
		return this.changing(id, undefined, async (hunts, messages, hunt) => {
			await hunts.setStatus(id, nextStatus(hunt.status, "unpublish"), { publishedAt: null, moderationReason: reason });
			const at = this.clock().toISOString();
			await messages.add(HUNTS_CHANNEL, { huntId: id, partnerId: hunt.partnerId, kind: "unpublished", reason, at }, { partitionKey: id });
			await writeAuditFactFrom(messages, origin, { action: "hunts.unpublished", subject: huntSubject(id), data: { reason } });
		});
	}

	/**
	 * Finding hunts: near a point (nearest first, each with its distance), by text and tags (best
	 * match first), or both. Only listed hunts (published, public, partner not suspended), each as its
	 * public view. `cursor` is the opaque position the previous page returned.
	 */
	async search(
		query: HuntSearch,
		nearby: (point: { lat: number; lon: number; radiusM: number; limit?: number }) => Promise<Array<{ huntId: string; distanceM: number }>>,
	): Promise<{ items: Array<PublicHuntView & { distanceM?: number }>; next?: string }> {
		if ((query.lat === undefined) !== (query.lon === undefined)) {
			throw new AppError("VALIDATION_FAILED", undefined, [{ field: query.lat === undefined ? "lat" : "lon", message: "lat and lon go together", rule: "required" }]);
		}
		const offset = decodeCursor(query.cursor);
		const tags = parseTags(query.tags);
		const near = query.lat !== undefined && query.lon !== undefined ? { lat: query.lat, lon: query.lon, radiusM: query.radius ?? DEFAULT_SEARCH_RADIUS_M } : undefined;
		const filtered = Boolean(query.q) || tags.length > 0;
		const text = { ...(query.q ? { q: query.q } : {}), tags };
		const found =
			(filtered && (await this.searchTextIndex({ ...text, ...(near ? { near } : {}) }, offset, query.limit))) ||
			(near
				? await this.searchNear(near, text, filtered, offset, query.limit, nearby)
				: pageOf(
						(await this.hunts.searchListed(text, offset, query.limit + 1)).map(hunt => ({ view: this.publicView(hunt) })),
						query.limit,
					));
		const items = found.views.map(({ view, distanceM }) => (near ? { ...view, distanceM: distanceM! } : view));
		return { items, ...(found.more ? { next: encodeCursor(offset + query.limit) } : {}) };
	}

	/** The geo index's hits, nearest first; with text or tags, those of them PostgreSQL finds matching. */
	private async searchNear(
		near: { lat: number; lon: number; radiusM: number },
		text: { q?: string; tags: string[] },
		filtered: boolean,
		offset: number,
		limit: number,
		nearby: (point: { lat: number; lon: number; radiusM: number; limit?: number }) => Promise<Array<{ huntId: string; distanceM: number }>>,
	): Promise<FoundHunts> {
		if (!filtered) {
			// The index's order is the answer: only the page's hunts are read.
			const hits = await nearby({ ...near, limit: offset + limit + 1 });
			const page = hits.slice(offset, offset + limit);
			// Whether more follow is the index's to say: a hunt dropped from this page does not end the list.
			return { views: inHitOrder(page, await this.listedViews(page.map(hit => hit.huntId))), more: hits.length > offset + limit };
		}
		// The geo index orders and measures; SQL says which match the text among the hunts in a box
		// around the circle (a little wider: the index keeps places to within a metre), at the same time.
		const box = boxAround(near, near.radiusM, 0.001);
		const [hits, inBox] = await Promise.all([nearby(near), box ? this.hunts.matchingWithin(text, box) : undefined]);
		const matching =
			inBox ??
			(await this.hunts.matchingAmong(
				text,
				hits.map(hit => hit.huntId),
			));
		const matched = hits.filter(hit => matching.has(hit.huntId));
		const page = matched.slice(offset, offset + limit);
		return { views: inHitOrder(page, await this.listedViews(page.map(hit => hit.huntId))), more: matched.length > offset + limit };
	}

	/** The text index's page, read back from the hunts table; undefined when there is no index or it failed. */
	private async searchTextIndex(query: HuntTextQuery, offset: number, limit: number): Promise<FoundHunts | undefined> {
		if (!this.options.textIndex) return undefined;
		let hits: HuntTextHit[] | undefined;
		try {
			hits = await this.options.textIndex.search(query, offset, limit + 1);
		} catch (err) {
			this.options.onTextIndexFailure?.(err as Error);
			return undefined;
		}
		if (!hits) return undefined;
		// A hunt hidden since it was indexed is dropped here: the table, not the index, says what is listed.
		const page = hits.slice(0, limit);
		return { views: inHitOrder(page, await this.listedViews(page.map(hit => hit.huntId))), more: hits.length > limit };
	}

	/**
	 * The public views of those of `ids` that are listed: from the view cache when it has them (what
	 * a hunt's change drops from it, so it holds no hunt hidden since), the rest from the table.
	 */
	private async listedViews(ids: readonly string[]): Promise<PublicHuntView[]> {
		const cache = this.options.publicViews;
		const cached = cache ? await cache.get(ids) : [];
		const views = cached.filter((view): view is PublicHuntView => view !== undefined);
		const missing = cache ? ids.filter((_, i) => cached[i] === undefined) : ids;
		if (!missing.length) return views;
		const read = (await this.hunts.listedByIds(missing)).map(hunt => this.publicView(hunt));
		await cache?.set(read);
		return [...views, ...read];
	}

	/** Listed hunts in id order, for the indexes that rebuild themselves from this service. */
	async listed(after: string | undefined, limit: number): Promise<{ items: Array<{ huntId: string; area: { lat: number; lon: number } }>; next?: string }> {
		const hunts = await this.hunts.listed(after, limit);
		const items = hunts.map(hunt => ({ huntId: hunt.id, area: { lat: hunt.area.lat, lon: hunt.area.lon } }));
		return { items, ...(hunts.length === limit ? { next: hunts[hunts.length - 1].id } : {}) };
	}

	/**
	 * The partners.status announcement: a suspended partner's hunts are hidden from players until it
	 * is verified again; each published hunt whose visibility changed is announced.
	 */
	async partnerStatusChanged(change: { partnerId: string; name: string; status: "verified" | "suspended"; at: string }, messages: MessageWriter, db: SqlClient): Promise<string[]> {
		const affected = await this.hunts.joined(db).setPartnerSuspended(change.partnerId, change.status === "suspended", change.name);
		for (const hunt of affected) {
			const base = { huntId: hunt.id, partnerId: hunt.partnerId, at: change.at };
			await messages.add(HUNTS_CHANNEL, change.status === "suspended" ? { ...base, kind: "hidden" } : { ...base, kind: "shown", area: hunt.area, visibility: hunt.visibility }, {
				partitionKey: hunt.id,
			});
		}
		return affected.map(hunt => hunt.id);
	}

	async rotateJoinCode(id: string): Promise<{ joinCode: string }> {
		const joinCode = newJoinCode();
		await this.outbox.transaction(async (_messages, db) => {
			const hunts = this.hunts.joined(db);
			const hunt = await hunts.get(id, { forUpdate: true });
			if (!hunt) throw notFound("Hunt");
			if (hunt.visibility !== "private") throw new AppError("CONFLICT", "Only a private hunt has a join code");
			if (hunt.status === "archived") throw new AppError("HUNT_STATE", "An archived hunt's join code cannot change", { status: hunt.status, allowed: [] });
			await hunts.setJoinCode(id, joinCode);
		});
		return { joinCode };
	}

	/** A draft's change, under the hunt's row lock: refused once the hunt is published. */
	private async editing(id: string, change: (hunts: HuntStore, hunt: HuntRecord) => Promise<void>): Promise<HuntView> {
		await this.outbox.transaction(async (_messages, db) => {
			const hunts = this.hunts.joined(db);
			const hunt = await hunts.get(id, { forUpdate: true });
			if (!hunt) throw notFound("Hunt");
			assertEditable(hunt.status);
			await change(hunts, hunt);
		});
		return this.membersViewOf(id);
	}

	/** A status change with its messages, under the row lock; `revision`, when given, must not have moved. */
	private async changing(id: string, revision: number | undefined, change: (hunts: HuntStore, messages: MessageWriter, hunt: HuntRecord) => Promise<void>): Promise<HuntView> {
		await this.outbox.transaction(async (messages, db: SqlClient) => {
			const hunts = this.hunts.joined(db);
			const hunt = await hunts.get(id, { forUpdate: true });
			if (!hunt) throw notFound("Hunt");
			if (revision !== undefined && hunt.revision !== revision) throw new AppError("CONFLICT", "The hunt changed while it was being published; publish again");
			await change(hunts, messages, hunt);
		});
		return this.membersViewOf(id);
	}

	private async membersViewOf(id: string): Promise<HuntView> {
		const hunt = await this.hunts.get(id);
		if (!hunt) throw notFound("Hunt");
		return this.membersView(hunt);
	}

	private async membersView(hunt: HuntRecord): Promise<HuntView> {
		const [clues, paths] = await Promise.all([this.hunts.clues(hunt.id), this.hunts.paths(hunt.id)]);
		const { partnerName: _name, revision: _revision, partnerSuspended: _suspended, createdBy: _by, clueCount: _count, startZones: _zones, joinCode, ...fields } = hunt;
		return { ...fields, ...(joinCode ? { joinCode } : {}), clues: clues.map(clueView), paths };
	}

	/** What a player may see: never a clue's place, content, answer or hints; the start clues' zones only. */
	private publicView(hunt: HuntRecord): PublicHuntView {
		return {
			id: hunt.id,
			partner: { id: hunt.partnerId, name: hunt.partnerName },
			title: hunt.title,
			description: hunt.description,
			tags: hunt.tags,
			area: hunt.area,
			startsAt: hunt.startsAt,
			endsAt: hunt.endsAt,
			visibility: hunt.visibility,
			capacity: hunt.capacity,
			difficulty: hunt.difficulty,
			timeLimitMinutes: hunt.timeLimitMinutes,
			status: hunt.status,
			clueCount: hunt.clueCount,
			startZones: hunt.startZones,
		};
	}
}

export interface HuntSearch {
	lat?: number;
	lon?: number;
	radius?: number;
	q?: string;
	tags?: string;
	cursor?: string;
	limit: number;
}

export const DEFAULT_SEARCH_RADIUS_M = 10_000;
const TAG = /^[\p{L}\p{N}][\p{L}\p{N} _-]{0,39}$/u;

/** "History, walk" → ["history", "walk"]; an unusable tag is a 422 naming it. */
function parseTags(tags: string | undefined): string[] {
	if (!tags) return [];
	const parsed = [
		...new Set(
			tags
				.split(",")
				.map(tag => tag.trim().toLowerCase())
				.filter(Boolean),
		),
	];
	const bad = parsed.find(tag => !TAG.test(tag));
	if (bad !== undefined || parsed.length > 10)
		throw new AppError("VALIDATION_FAILED", undefined, [{ field: "tags", message: bad !== undefined ? `Not a tag: ${bad.slice(0, 40)}` : "At most 10 tags", rule: "tags" }]);
	return parsed;
}

function encodeCursor(offset: number): string {
	return Buffer.from(JSON.stringify({ o: offset })).toString("base64url");
}

function decodeCursor(cursor: string | undefined): number {
	if (cursor === undefined) return 0;
	try {
		const { o } = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { o?: unknown };
		if (typeof o === "number" && Number.isInteger(o) && o >= 0 && o <= 100_000) return o;
	} catch {
		// not ours: answered below
	}
	throw new AppError("VALIDATION_FAILED", undefined, [{ field: "cursor", message: "Not a cursor this search returned", rule: "cursor" }]);
}

function dropUndefined<T extends object>(value: T): Partial<T> {
	return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function detailsOf(fields: Omit<NewHunt, "partnerId"> | HuntDetails): HuntDetails {
	return {
		title: fields.title,
		description: fields.description,
		tags: [...new Set(fields.tags.map(tag => tag.toLowerCase()))],
		area: fields.area,
		startsAt: new Date(fields.startsAt).toISOString(),
		endsAt: new Date(fields.endsAt).toISOString(),
		visibility: fields.visibility,
		capacity: fields.capacity ?? null,
		difficulty: fields.difficulty ?? null,
		timeLimitMinutes: fields.timeLimitMinutes ?? null,
		zoneRadiusM: fields.zoneRadiusM ?? ZONE_RADIUS_DEFAULT_M,
	};
}

async function clueDetailsOf(
	input: Omit<NewClue, "id" | "challenge"> & { challenge?: NewClue["challenge"] },
	challenge: { question: string; answer: string } | { question: string | null; answerHash: string | null } | null | undefined = input.challenge,
): Promise<ClueDetails> {
	let question: string | null = null;
	let answerHash: string | null = null;
	if (challenge && "answer" in challenge) {
		question = challenge.question;
		answerHash = await hashAnswer(challenge.answer);
	} else if (challenge) {
		question = challenge.question;
		answerHash = challenge.answerHash;
	}
	return { title: input.title, position: input.position, radiusM: input.radiusM, content: input.content, question, answerHash, hints: input.hints ?? [], points: input.points };
}

/** A clue as members see it: the challenge's question, never its answer. */
function clueView(clue: ClueRecord): ClueView {
	return {
		id: clue.id,
		title: clue.title,
		position: clue.position,
		radiusM: clue.radiusM,
		content: clue.content,
		...(clue.challenge ? { challenge: { question: clue.challenge.question } } : {}),
		hints: clue.hints,
		points: clue.points,
	};
}

type FoundHunts = { views: Array<{ view: PublicHuntView; distanceM?: number }>; more: boolean };

function pageOf(found: FoundHunts["views"], limit: number): FoundHunts {
	return { views: found.slice(0, limit), more: found.length > limit };
}

/** The views of `hits` that were found, in the hits' order, each with its distance if it has one. */
function inHitOrder(hits: ReadonlyArray<{ huntId: string; distanceM?: number }>, views: readonly PublicHuntView[]): FoundHunts["views"] {
	const byId = new Map(views.map(view => [view.id, view]));
	return hits.flatMap(hit => {
		const view = byId.get(hit.huntId);
		return view ? [{ view, ...(hit.distanceM !== undefined ? { distanceM: hit.distanceM } : {}) }] : [];
	});
}
