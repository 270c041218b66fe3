/**
 * Hunts, their clues and paths, in the hunts service's own schema. A hunt's `revision` counts the
 * changes to its details, clues and paths: publishing validates a snapshot outside the transaction
 * (the graph engine may be another database) and commits only if the revision is still the one it
 * validated.
 */
import { UUID_PATTERN } from "../../contracts/identity";
import { randomBytes, randomUUID } from "node:crypto";
import type { Migration, SqlClient, SqlExecutor } from "../../platform/sql";
import type { ClueView, HuntView, HuntVisibility } from "../../contracts/hunts";
import type { CluePath } from "./clue-graph/clue-graph";
import { CLUE_GRAPH_MIGRATION_SQL } from "./clue-graph/sql-clue-graph";
import type { HuntStatus } from "./hunt-lifecycle";
import type { LatLonBox } from "./geo";
import type { SearchZone } from "./search-zones";

export const HUNTS_MIGRATIONS: readonly Migration[] = [
	{
		version: 1,
		name: "hunts, clues, paths and the SQL clue graph",
		up: `
			create table hunts (
				id uuid primary key,
				partner_id uuid not null,
				partner_name text not null,
				title text not null,
				description text not null,
				tags jsonb not null default '[]',
				area_lat double precision not null,
				area_lon double precision not null,
				area_radius_m integer not null,
				starts_at timestamptz not null,
				ends_at timestamptz not null,
				visibility text not null check (visibility in ('public', 'private')),
				capacity integer,
				difficulty integer,
				time_limit_minutes integer,
				zone_radius_m integer not null,
				join_code text,
				status text not null default 'draft' check (status in ('draft', 'published', 'archived')),
				revision integer not null default 0,
				partner_suspended boolean not null default false,
				moderation_reason text,
				moderated_at timestamptz,
				created_by uuid not null,
				created_at timestamptz not null default now(),
				updated_at timestamptz not null default now(),
				published_at timestamptz
			);
			create index hunts_partner on hunts (partner_id, status, created_at);
			create index hunts_status on hunts (status);

			create table clues (
				id uuid primary key,
				hunt_id uuid not null references hunts (id) on delete cascade,
				seq integer not null,
				title text not null,
				lat double precision not null,
				lon double precision not null,
				radius_m integer not null,
				content text not null,
				question text,
				answer_hash text,
				hints jsonb not null default '[]',
				points integer not null,
				zone_lat double precision,
				zone_lon double precision,
				zone_radius_m integer
			);
			create index clues_hunt on clues (hunt_id, seq);

			create table paths (
				hunt_id uuid not null references hunts (id) on delete cascade,
				from_id uuid not null,
				to_id uuid not null,
				primary key (hunt_id, from_id, to_id)
			);
			${CLUE_GRAPH_MIGRATION_SQL}
		`,
	},
	{
		version: 2,
		name: "text search over title, description and tags",
		up: `
			alter table hunts add column search tsvector generated always as (to_tsvector('simple', title || ' ' || description || ' ' || tags::text)) stored;
			create index hunts_search on hunts using gin (search);
			create index hunts_tags on hunts using gin (tags);
			create index hunts_listed on hunts (id) where status = 'published' and visibility = 'public' and not partner_suspended;
		`,
	},
	{
		version: 3,
		name: "text search weighs the title first, then the description, then the tags",
		up: `
			drop index hunts_search;
			alter table hunts drop column search;
			alter table hunts add column search tsvector generated always as (
				setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', description), 'B') || setweight(to_tsvector('simple', tags::text), 'C')
			) stored;
			create index hunts_search on hunts using gin (search);
		`,
	},
	{
		version: 4,
		name: "a published hunt keeps what its public view shows: clue count and start zones",
		up: `
			alter table hunts add column clue_count integer not null default 0;
			alter table hunts add column start_zones jsonb not null default '[]';
			update hunts h set
				clue_count = (select count(*) from clues c where c.hunt_id = h.id),
				start_zones = coalesce((
					select jsonb_agg(jsonb_build_object('clueId', c.id, 'zone', jsonb_build_object('lat', c.zone_lat, 'lon', c.zone_lon, 'radiusM', c.zone_radius_m)) order by c.seq)
					from clues c
					where c.hunt_id = h.id and c.zone_lat is not null and not exists (select 1 from paths p where p.hunt_id = h.id and p.to_id = c.id)
				), '[]')
			where status = 'published';
		`,
	},
	{
		version: 5,
		name: "a text search near a point narrows by latitude in SQL instead of sending the geo index's hits",
		up: `create index hunts_listed_lat on hunts (area_lat) where status = 'published' and visibility = 'public' and not partner_suspended;`,
	},
];

/** Every column of a hunt row but its text-search vector, which is large and only ever matched in SQL. */
export const HUNT_COLUMNS = `id, partner_id, partner_name, title, description, tags, area_lat, area_lon, area_radius_m, starts_at, ends_at, visibility, capacity, difficulty,
	time_limit_minutes, zone_radius_m, join_code, status, revision, partner_suspended, moderation_reason, moderated_at, created_by, created_at, updated_at, published_at,
	clue_count, start_zones`;

/** Hunts players may find: published, public, their partner not suspended. */
const LISTED = "status = 'published' and visibility = 'public' and not partner_suspended";

/** The conditions of a text and tag search, listed hunts only, with their values bound through `param`. */
function matching(filter: { q?: string; tags: readonly string[] }, param: (value: unknown) => string): string {
	const conditions = [LISTED];
	if (filter.q) conditions.push(`search @@ websearch_to_tsquery('simple', ${param(filter.q)})`);
	if (filter.tags.length) conditions.push(`tags @> ${param(JSON.stringify(filter.tags))}::text::jsonb`);
	return conditions.join(" and ");
}

/** A websearch query's wanted part: its -word and -"phrase" exclusions taken out. */
export function withoutExclusions(q: string): string {
	return q
		.replace(/(^|\s)-("[^"]*"?|\S*)/g, "$1")
		.replace(/\s+/g, " ")
		.trim();
}

/** LISTED, for a hunt already read. */
export function isListed(hunt: Pick<HuntRecord, "status" | "visibility" | "partnerSuspended">): boolean {
	return hunt.status === "published" && hunt.visibility === "public" && !hunt.partnerSuspended;
}

export interface HuntRecord extends Omit<HuntView, "clues" | "paths" | "joinCode"> {
	partnerName: string;
	/** Fixed at publication, for the public view. */
	clueCount: number;
	startZones: Array<{ clueId: string; zone: SearchZone }>;
	joinCode: string | null;
	revision: number;
	partnerSuspended: boolean;
	createdBy: string;
}

/** What the search indexes keep of a listed hunt. */
export interface ListedHunt {
	id: string;
	title: string;
	description: string;
	tags: string[];
	area: { lat: number; lon: number };
	publishedAt: string;
}

export interface ClueRecord extends ClueView {
	huntId: string;
	answerHash: string | null;
	zone: SearchZone | null;
}

export interface HuntDetails {
	title: string;
	description: string;
	tags: string[];
	area: { lat: number; lon: number; radiusM: number };
	startsAt: string;
	endsAt: string;
	visibility: HuntVisibility;
	capacity: number | null;
	difficulty: number | null;
	timeLimitMinutes: number | null;
	zoneRadiusM: number;
}

export interface ClueDetails {
	title: string;
	position: { lat: number; lon: number };
	radiusM: number;
	content: string;
	question: string | null;
	answerHash: string | null;
	hints: Array<{ text: string; cost: number }>;
	points: number;
}

type HuntRow = {
	id: string;
	partner_id: string;
	partner_name: string;
	title: string;
	description: string;
	tags: string[];
	area_lat: number;
	area_lon: number;
	area_radius_m: number;
	starts_at: Date;
	ends_at: Date;
	visibility: HuntVisibility;
	capacity: number | null;
	difficulty: number | null;
	time_limit_minutes: number | null;
	zone_radius_m: number;
	join_code: string | null;
	status: HuntStatus;
	revision: number;
	partner_suspended: boolean;
	moderation_reason: string | null;
	moderated_at: Date | null;
	created_by: string;
	created_at: Date;
	updated_at: Date;
	published_at: Date | null;
	clue_count: number;
	start_zones: Array<{ clueId: string; zone: SearchZone }>;
};

type ClueRow = {
	id: string;
	hunt_id: string;
	title: string;
	lat: number;
	lon: number;
	radius_m: number;
	content: string;
	question: string | null;
	answer_hash: string | null;
	hints: Array<{ text: string; cost: number }>;
	points: number;
	zone_lat: number | null;
	zone_lon: number | null;
	zone_radius_m: number | null;
};

const huntOf = (row: HuntRow): HuntRecord => ({
	id: row.id,
	partnerId: row.partner_id,
	partnerName: row.partner_name,
	clueCount: row.clue_count,
	startZones: row.start_zones,
	title: row.title,
	description: row.description,
	tags: row.tags,
	area: { lat: row.area_lat, lon: row.area_lon, radiusM: row.area_radius_m },
	startsAt: row.starts_at.toISOString(),
	endsAt: row.ends_at.toISOString(),
	visibility: row.visibility,
	capacity: row.capacity,
	difficulty: row.difficulty,
	timeLimitMinutes: row.time_limit_minutes,
	zoneRadiusM: row.zone_radius_m,
	joinCode: row.join_code,
	status: row.status,
	revision: row.revision,
	partnerSuspended: row.partner_suspended,
	createdBy: row.created_by,
	createdAt: row.created_at.toISOString(),
	updatedAt: row.updated_at.toISOString(),
	publishedAt: row.published_at ? row.published_at.toISOString() : null,
	moderation: row.moderation_reason && row.moderated_at ? { reason: row.moderation_reason, at: row.moderated_at.toISOString() } : null,
});

const clueOf = (row: ClueRow): ClueRecord => ({
	id: row.id,
	huntId: row.hunt_id,
	title: row.title,
	position: { lat: row.lat, lon: row.lon },
	radiusM: row.radius_m,
	content: row.content,
	...(row.question !== null ? { challenge: { question: row.question } } : {}),
	hints: row.hints,
	points: row.points,
	answerHash: row.answer_hash,
	zone: row.zone_lat !== null && row.zone_lon !== null && row.zone_radius_m !== null ? { lat: row.zone_lat, lon: row.zone_lon, radiusM: row.zone_radius_m } : null,
});

/**
 * Ids as a Postgres array literal bound as text: `id = any(...)` lets the planner look each up by
 * primary key, where a set-returning function leaves it guessing (and scanning). Anything not a
 * UUID is left out, so nothing else can reach the literal.
 */
const uuidArray = (ids: readonly string[]): string => `{${ids.filter(id => UUID_PATTERN.test(id)).join(",")}}`;

/** A hunt's details as bound parameters, in the order of the columns they fill. */
const detailValues = (details: HuntDetails): unknown[] => [
	details.title,
	details.description,
	JSON.stringify(details.tags),
	details.area.lat,
	details.area.lon,
	details.area.radiusM,
	details.startsAt,
	details.endsAt,
	details.visibility,
	details.capacity,
	details.difficulty,
	details.timeLimitMinutes,
	details.zoneRadiusM,
];

/** A clue's details as bound parameters, in the order of the columns they fill. */
const clueValues = (details: ClueDetails): unknown[] => [
	details.title,
	details.position.lat,
	details.position.lon,
	details.radiusM,
	details.content,
	details.question,
	details.answerHash,
	JSON.stringify(details.hints),
	details.points,
];

/** Eight characters from an alphabet without look-alikes (no 0/O, 1/I/L). */
export function newJoinCode(): string {
	const alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
	return [...randomBytes(8)].map(byte => alphabet[byte % alphabet.length]).join("");
}

export class HuntStore {
	private readonly huntsTable: string;
	private readonly cluesTable: string;
	private readonly pathsTable: string;

	constructor(
		private readonly db: SqlClient | SqlExecutor,
		private readonly schema: string,
	) {
		this.huntsTable = `"${schema}".hunts`;
		this.cluesTable = `"${schema}".clues`;
		this.pathsTable = `"${schema}".paths`;
	}

	/** The same store on a transaction's client. */
	joined(db: SqlClient | SqlExecutor): HuntStore {
		return new HuntStore(db, this.schema);
	}

	async create(partner: { id: string; name: string }, details: HuntDetails, createdBy: string): Promise<HuntRecord> {
		const { rows } = await this.db.query<HuntRow>(
			`insert into ${this.huntsTable} (id, partner_id, partner_name, title, description, tags, area_lat, area_lon, area_radius_m, starts_at, ends_at, visibility, capacity, difficulty,
				time_limit_minutes, zone_radius_m, join_code, created_by)
			values ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) returning ${HUNT_COLUMNS}`,
			[randomUUID(), partner.id, partner.name, ...detailValues(details), details.visibility === "private" ? newJoinCode() : null, createdBy],
		);
		return huntOf(rows[0]);
	}

	async get(id: string, options: { forUpdate?: boolean } = {}): Promise<HuntRecord | undefined> {
		const { rows } = await this.db.query<HuntRow>(`select ${HUNT_COLUMNS} from ${this.huntsTable} where id = $1${options.forUpdate ? " for update" : ""}`, [id]);
		return rows[0] ? huntOf(rows[0]) : undefined;
	}

	async partnerOf(id: string): Promise<string | undefined> {
		const { rows } = await this.db.query<{ partner_id: string }>(`select partner_id from ${this.huntsTable} where id = $1`, [id]);
		return rows[0]?.partner_id;
	}

	async ofPartner(partnerId: string, status: HuntStatus | undefined, limit: number): Promise<HuntRecord[]> {
		const { rows } = await this.db.query<HuntRow>(`select ${HUNT_COLUMNS} from ${this.huntsTable} where partner_id = $1 and ($2::text is null or status = $2) order by created_at desc, id limit $3`, [
			partnerId,
			status ?? null,
			limit,
		]);
		return rows.map(huntOf);
	}

	async updateDetails(id: string, details: HuntDetails): Promise<void> {
		await this.db.query(
			`update ${this.huntsTable} set title = $2, description = $3, tags = $4::text::jsonb, area_lat = $5, area_lon = $6, area_radius_m = $7, starts_at = $8, ends_at = $9,
				visibility = $10, capacity = $11, difficulty = $12, time_limit_minutes = $13, zone_radius_m = $14,
				join_code = case when $10 = 'private' then coalesce(join_code, $15) else null end,
				revision = revision + 1, updated_at = now()
			where id = $1`,
			[id, ...detailValues(details), newJoinCode()],
		);
	}

	/** Records a change to the hunt's clues or paths. */
	async touch(id: string): Promise<void> {
		await this.db.query(`update ${this.huntsTable} set revision = revision + 1, updated_at = now() where id = $1`, [id]);
	}

	async setStatus(id: string, status: HuntStatus, changes: { publishedAt?: Date | null; moderationReason?: string | null } = {}): Promise<void> {
		await this.db.query(
			`update ${this.huntsTable} set status = $2, updated_at = now(),
				published_at = case when $3::boolean then $4::timestamptz else published_at end,
				moderation_reason = case when $5::boolean then $6 else moderation_reason end,
				moderated_at = case when $5::boolean then (case when $6::text is null then null else now() end) else moderated_at end
			where id = $1`,
			[id, status, changes.publishedAt !== undefined, changes.publishedAt ?? null, changes.moderationReason !== undefined, changes.moderationReason ?? null],
		);
	}

	/** Marks a partner's hunts hidden (suspended) or not; returns the published ones, whose visibility changed. */
	async setPartnerSuspended(partnerId: string, suspended: boolean, partnerName: string): Promise<HuntRecord[]> {
		const { rows } = await this.db.query<HuntRow>(
			`update ${this.huntsTable} set partner_suspended = $2, partner_name = $3 where partner_id = $1 and partner_suspended <> $2 returning ${HUNT_COLUMNS}`,
			[partnerId, suspended, partnerName],
		);
		return rows.map(huntOf).filter(hunt => hunt.status === "published");
	}

	/** For operators and admins: any partner's hunts, newest first. */
	async list(filter: { status?: HuntStatus; partnerId?: string }, limit: number): Promise<HuntRecord[]> {
		const { rows } = await this.db.query<HuntRow>(
			`select ${HUNT_COLUMNS} from ${this.huntsTable} where ($1::text is null or status = $1) and ($2::uuid is null or partner_id = $2::uuid) order by created_at desc, id limit $3`,
			[filter.status ?? null, filter.partnerId ?? null, limit],
		);
		return rows.map(huntOf);
	}

	/** Listed hunts in id order after `after`: for rebuilding indexes. */
	async listed(after: string | undefined, limit: number): Promise<ListedHunt[]> {
		// Only what the indexes keep: a page of whole rows took PGlite 50 ms to decode, a page of these 10.
		const { rows } = await this.db.query<Pick<HuntRow, "id" | "title" | "description" | "tags" | "area_lat" | "area_lon" | "published_at" | "updated_at">>(
			`select id, title, description, tags, area_lat, area_lon, published_at, updated_at from ${this.huntsTable}
			where ${LISTED} and ($1::uuid is null or id > $1::uuid) order by id limit $2`,
			[after ?? null, limit],
		);
		return rows.map(row => ({
			id: row.id,
			title: row.title,
			description: row.description,
			tags: row.tags,
			area: { lat: row.area_lat, lon: row.area_lon },
			publishedAt: (row.published_at ?? row.updated_at).toISOString(),
		}));
	}

	/**
	 * Listed hunts matching the text (websearch syntax: words, "phrases", -excluded) and carrying
	 * every tag, best match first, then newest.
	 */
	async searchListed(filter: { q?: string; tags: readonly string[] }, offset: number, limit: number): Promise<HuntRecord[]> {
		const params: unknown[] = [];
		const param = (value: unknown) => (params.push(value), `$${params.length}`);
		const conditions = matching(filter, param);
		let rank = "";
		// Ranked on the wanted words only: ts_rank scores any query with an exclusion 1e-20, whatever matched.
		const wanted = filter.q && withoutExclusions(filter.q);
		if (wanted) rank = `ts_rank(search, websearch_to_tsquery('simple', ${param(wanted)})) desc, `;
		const { rows } = await this.db.query<HuntRow>(
			`select ${HUNT_COLUMNS} from ${this.huntsTable} where ${conditions} order by ${rank}published_at desc, id offset ${param(offset)} limit ${param(limit)}`,
			params,
		);
		return rows.map(huntOf);
	}

	/** The listed hunts matching the text and tags whose area's centre is in the box: ids only, the caller orders them. */
	async matchingWithin(filter: { q?: string; tags: readonly string[] }, box: LatLonBox): Promise<Set<string>> {
		const params: unknown[] = [];
		const param = (value: unknown) => (params.push(value), `$${params.length}`);
		const { rows } = await this.db.query<{ id: string }>(
			`select id from ${this.huntsTable}
			where area_lat between ${param(box.latMin)} and ${param(box.latMax)} and area_lon between ${param(box.lonMin)} and ${param(box.lonMax)} and ${matching(filter, param)}`,
			params,
		);
		return new Set(rows.map(row => row.id));
	}

	/** Which of `ids` (a geo search's hits) are listed hunts matching the text and tags: ids only, the caller orders them. */
	async matchingAmong(filter: { q?: string; tags: readonly string[] }, ids: readonly string[]): Promise<Set<string>> {
		if (!ids.length) return new Set();
		const params: unknown[] = [];
		const param = (value: unknown) => (params.push(value), `$${params.length}`);
		const { rows } = await this.db.query<{ id: string }>(`select id from ${this.huntsTable} where id = any(${param(uuidArray(ids))}::text::uuid[]) and ${matching(filter, param)}`, params);
		return new Set(rows.map(row => row.id));
	}

	async setJoinCode(id: string, code: string): Promise<void> {
		await this.db.query(`update ${this.huntsTable} set join_code = $2, updated_at = now() where id = $1`, [id, code]);
	}

	async clues(huntId: string): Promise<ClueRecord[]> {
		const { rows } = await this.db.query<ClueRow>(`select * from ${this.cluesTable} where hunt_id = $1 order by seq, id`, [huntId]);
		return rows.map(clueOf);
	}

	async clue(huntId: string, clueId: string): Promise<ClueRecord | undefined> {
		const { rows } = await this.db.query<ClueRow>(`select * from ${this.cluesTable} where hunt_id = $1 and id = $2`, [huntId, clueId]);
		return rows[0] ? clueOf(rows[0]) : undefined;
	}

	async clueCount(huntId: string): Promise<number> {
		const { rows } = await this.db.query<{ n: number }>(`select count(*)::int as n from ${this.cluesTable} where hunt_id = $1`, [huntId]);
		return rows[0].n;
	}

	async addClue(huntId: string, details: ClueDetails): Promise<ClueRecord> {
		const { rows } = await this.db.query<ClueRow>(
			`insert into ${this.cluesTable} (id, hunt_id, seq, title, lat, lon, radius_m, content, question, answer_hash, hints, points)
			values ($1, $2, (select coalesce(max(seq), 0) + 1 from ${this.cluesTable} where hunt_id = $2), $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb, $11) returning *`,
			[randomUUID(), huntId, ...clueValues(details)],
		);
		return clueOf(rows[0]);
	}

	async updateClue(huntId: string, clueId: string, details: ClueDetails): Promise<ClueRecord | undefined> {
		const { rows } = await this.db.query<ClueRow>(
			`update ${this.cluesTable} set title = $3, lat = $4, lon = $5, radius_m = $6, content = $7, question = $8, answer_hash = $9, hints = $10::text::jsonb, points = $11
			where hunt_id = $1 and id = $2 returning *`,
			[huntId, clueId, ...clueValues(details)],
		);
		return rows[0] ? clueOf(rows[0]) : undefined;
	}

	/** Removes the clue and every path touching it. */
	async removeClue(huntId: string, clueId: string): Promise<boolean> {
		await this.db.query(`delete from ${this.pathsTable} where hunt_id = $1 and (from_id = $2 or to_id = $2)`, [huntId, clueId]);
		const { rowCount } = await this.db.query(`delete from ${this.cluesTable} where hunt_id = $1 and id = $2`, [huntId, clueId]);
		return rowCount > 0;
	}

	/** What the public view shows of a hunt being published. */
	async setPublicFacts(huntId: string, clueCount: number, startZones: Array<{ clueId: string; zone: SearchZone }>): Promise<void> {
		await this.db.query(`update ${this.huntsTable} set clue_count = $2, start_zones = $3::text::jsonb where id = $1`, [huntId, clueCount, JSON.stringify(startZones)]);
	}

	/** Listed hunts by id, in no set order (a geo search's page). */
	async listedByIds(ids: readonly string[]): Promise<HuntRecord[]> {
		if (!ids.length) return [];
		const { rows } = await this.db.query<HuntRow>(`select ${HUNT_COLUMNS} from ${this.huntsTable} where ${LISTED} and id = any($1::text::uuid[])`, [uuidArray(ids)]);
		return rows.map(huntOf);
	}

	async setZones(huntId: string, zones: ReadonlyMap<string, SearchZone>): Promise<void> {
		await this.db.query(
			`update ${this.cluesTable} c set zone_lat = (z->>'lat')::double precision, zone_lon = (z->>'lon')::double precision, zone_radius_m = (z->>'radiusM')::integer
			from jsonb_array_elements($2::text::jsonb) as z where c.hunt_id = $1 and c.id = (z->>'clueId')::uuid`,
			[huntId, JSON.stringify([...zones].map(([clueId, zone]) => ({ clueId, ...zone })))],
		);
	}

	async paths(huntId: string): Promise<CluePath[]> {
		const { rows } = await this.db.query<{ from_id: string; to_id: string }>(`select from_id, to_id from ${this.pathsTable} where hunt_id = $1 order by from_id, to_id`, [huntId]);
		return rows.map(row => ({ from: row.from_id, to: row.to_id }));
	}

	async replacePaths(huntId: string, paths: readonly CluePath[]): Promise<void> {
		await this.db.query(`delete from ${this.pathsTable} where hunt_id = $1`, [huntId]);
		if (!paths.length) return;
		await this.db.query(
			`insert into ${this.pathsTable} (hunt_id, from_id, to_id) select $1::uuid, (p->>'from')::uuid, (p->>'to')::uuid from jsonb_array_elements($2::text::jsonb) as p on conflict do nothing`,
			[huntId, JSON.stringify(paths.map(({ from, to }) => ({ from, to })))],
		);
	}
}
