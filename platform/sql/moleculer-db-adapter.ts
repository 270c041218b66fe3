/**
 * A moleculer-db adapter over our SqlClient, so entity services get moleculer-db's CRUD actions,
 * paging, sorting, search and field filtering on embedded PGlite and PostgreSQL alike.
 *
 * Tables come from the service's migrations, never from the adapter. At connect() the adapter reads
 * the table's columns from information_schema; from then on every field name a caller supplies
 * (query keys, sort, searchFields, entity and update keys) must be one of them, or the call fails
 * with 422 VALIDATION_FAILED before any SQL is built. Identifiers are always quoted and
 * schema-qualified; values only ever travel as bound parameters.
 *
 * Field names are column names (`created_at`, not `createdAt`): what the migration says is what
 * clients see. The service's `settings.idField` may differ from the id column; it is then accepted
 * as an alias for it, and moleculer-db's id transforms rename it on the way in and out.
 *
 * Entities leave through `entityToObject` JSON-safe: Dates as ISO-8601 strings, bytes as base64,
 * int8 beyond 2^53 (a bigint) as a decimal string. moleculer-db hands that object to the caller
 * as-is on a local call but JSON-encodes it across the transporter, so converting here makes a
 * local call return exactly what a remote one does. Adapter methods called directly (`find`,
 * `insert`, …) return raw rows with Dates, for code inside the service.
 */
import { Errors } from "moleculer";
import type { ServiceBroker } from "moleculer";
import { ERROR_CODES, type ErrorCode } from "../errors/codes";
import { assertIdentifier } from "./migrations";
import { isSqlError, SQLSTATE, type SqlClient, type SqlError, type SqlExecutor } from "./types";
import { isPlainObject } from "../objects";

export type Entity = Record<string, unknown>;
/** Column → value (equality), null (is null), or `{ $in: [...] }`; all conditions must hold. */
export type EntityQuery = Record<string, unknown>;

/** What moleculer-db's find/list/count actions pass down (after its sanitizeParams). */
export interface FindParams {
	query?: EntityQuery | null;
	/** Case-insensitive substring, over `searchFields` (default: every text column). */
	search?: string | null;
	/** moleculer-db's case-insensitive variant; search is already case-insensitive here. */
	iSearch?: string | null;
	searchFields?: string | string[] | null;
	/** ["-score", "name"] or "-score,name": a leading "-" sorts descending. */
	sort?: string | string[] | null;
	/** 0 or absent: no limit (moleculer-db's convention). */
	limit?: number | string | null;
	offset?: number | string | null;
}

export interface UpdateOperators {
	$set?: Entity;
	/** Adds the number to the column's current value, in the database (no read-modify-write race). */
	$inc?: Record<string, number>;
	/** Sets the columns to null (the values are ignored). */
	$unset?: Record<string, unknown>;
}

/** The part of a Moleculer service the adapter reads. */
export interface AdapterService {
	name: string;
	broker: ServiceBroker;
	settings?: { idField?: string };
}

export interface SqlDbAdapterOptions {
	table: string;
	/** The schema holding the table; defaults to the service's name (a service owns that schema). */
	schema?: string;
	/**
	 * The service's client, resolved at connect(). moleculer-db connects in its own `started`
	 * hook, before the service's: resolve to a client whose migrations already ran.
	 */
	database: (service: AdapterService) => Promise<SqlClient> | SqlClient;
	/** The primary-key column; default "id". */
	idField?: string;
	/**
	 * json/jsonb columns are detected at connect(); listing them as well makes connect() fail when a
	 * migration changed one to another type, instead of silently storing JSON text.
	 */
	jsonColumns?: string[];
}

type ColumnKind = "json" | "array" | "text" | "other";

interface Column {
	name: string;
	/** The quoted identifier, ready for SQL. */
	sql: string;
	kind: ColumnKind;
	/** information_schema's udt_name: int4, uuid, jsonb, _text, … */
	udt: string;
}

/** Where a field name came from, for error messages. */
type FieldUse = "query" | "sort" | "searchFields" | "entity" | "update";

/** PostgreSQL accepts at most 65535 bind parameters in one statement. */
const MAX_PARAMETERS = 65535;

const TEXT_TYPES = new Set(["text", "character varying", "character"]);
const INTEGER_RANGES: Record<string, bigint> = { int2: 32767n, int4: 2147483647n, int8: 9223372036854775807n };

function quoteIdentifier(name: string): string {
	return `"${name.replace(/"/g, '""')}"`;
}

function clientError(type: ErrorCode, message: string, data?: unknown): Errors.MoleculerClientError {
	return new Errors.MoleculerClientError(message, ERROR_CODES[type].status, type, data);
}

/** In the shape the gateway's error envelope uses for validation issues. */
function invalid(field: string, message: string, rule: string): Errors.MoleculerClientError {
	return clientError("VALIDATION_FAILED", message, [{ field, message, rule }]);
}

/** Shown in messages without letting a hostile name flood logs or responses. */
function shown(name: string): string {
	return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}

function escapeLikePattern(text: string): string {
	return text.replace(/[\\%_]/g, ch => `\\${ch}`);
}

function toJsonSafe(value: unknown): unknown {
	if (value instanceof Date) return value.toISOString();
	if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
	if (typeof value === "bigint") return value.toString();
	if (Array.isArray(value)) return value.map(toJsonSafe);
	return value;
}

/** Collects bound values and hands out their placeholders. */
class Parameters {
	readonly values: unknown[] = [];
	add(value: unknown): string {
		this.values.push(value);
		return `$${this.values.length}`;
	}
}

export class SqlDbAdapter {
	private readonly table: string;
	private readonly idColumnName: string;
	private service?: AdapterService;
	private schema?: string;
	private client?: SqlClient;
	/** Set on the views `transaction` hands out: every query of the view runs in that transaction. */
	private boundExecutor?: SqlExecutor;
	private columns = new Map<string, Column>();

	constructor(private readonly options: SqlDbAdapterOptions) {
		this.table = assertIdentifier(options.table, "table name");
		this.idColumnName = options.idField ?? "id";
		if (options.schema !== undefined) this.schema = assertIdentifier(options.schema, "schema name");
	}

	// --- lifecycle (called by moleculer-db) ---

	init(_broker: ServiceBroker, service: AdapterService): void {
		this.service = service;
		this.schema ??= assertIdentifier(service.name, "schema name (the service name, unless `schema` is given)");
	}

	async connect(): Promise<void> {
		if (!this.service || !this.schema) throw new Error("SqlDbAdapter: init() must run before connect()");
		const client = await this.options.database(this.service);
		const { rows } = await client.query<{ column_name: string; data_type: string; udt_name: string }>(
			`select column_name, data_type, udt_name from information_schema.columns
			 where table_schema = $1 and table_name = $2 order by ordinal_position`,
			[this.schema, this.table],
		);
		if (!rows.length) throw new Error(`SqlDbAdapter: table "${this.schema}"."${this.table}" does not exist; create it in the service's migrations`);
		const columns = new Map<string, Column>();
		for (const row of rows) {
			const kind: ColumnKind =
				row.udt_name === "json" || row.udt_name === "jsonb" ? "json" : row.data_type === "ARRAY" ? "array" : TEXT_TYPES.has(row.data_type) || row.udt_name === "citext" ? "text" : "other";
			columns.set(row.column_name, { name: row.column_name, sql: quoteIdentifier(row.column_name), kind, udt: row.udt_name });
		}
		if (!columns.has(this.idColumnName)) throw new Error(`SqlDbAdapter: table "${this.schema}"."${this.table}" has no id column "${this.idColumnName}"`);
		for (const name of this.options.jsonColumns ?? []) {
			const column = columns.get(name);
			if (!column) throw new Error(`SqlDbAdapter: jsonColumns lists "${name}", which "${this.schema}"."${this.table}" does not have`);
			if (column.kind !== "json") throw new Error(`SqlDbAdapter: jsonColumns lists "${name}", but it is ${column.udt}, not json or jsonb`);
		}
		this.columns = columns;
		this.client = client;
	}

	async disconnect(): Promise<void> {
		// The client belongs to whoever resolved it (the node's shared engine); closing it here would
		// cut off every other service of the process that uses the same engine.
		this.client = undefined;
	}

	// --- identifiers ---

	/** `"schema"."table"`, for hand-written SQL next to the adapter (e.g. inside `transaction`). */
	get qualifiedTable(): string {
		if (!this.schema) throw new Error("SqlDbAdapter: not initialised");
		return `${quoteIdentifier(this.schema)}.${quoteIdentifier(this.table)}`;
	}

	private get idColumn(): Column {
		const column = this.columns.get(this.idColumnName);
		if (!column) throw new Error(`SqlDbAdapter: "${this.table}" is not connected`);
		return column;
	}

	/** The only way a caller's field name becomes SQL: it must name a column read at connect(). */
	private column(field: unknown, use: FieldUse): Column {
		if (typeof field !== "string") throw invalid(String(field), `Field names must be strings (in ${use})`, "fieldName");
		const apiIdField = this.service?.settings?.idField;
		const name = apiIdField && field === apiIdField ? this.idColumnName : field;
		const column = this.columns.get(name);
		if (!column) throw invalid(field, `Unknown field ${shown(field)} in ${use} for ${this.table}`, "unknownField");
		return column;
	}

	private executor(): SqlExecutor {
		const executor = this.boundExecutor ?? this.client;
		if (!executor) throw new Error(`SqlDbAdapter: "${this.table}" is not connected`);
		return executor;
	}

	// --- SQL fragments ---

	/** The placeholder for a value written to `column`: JSON is bound as text and cast, so a JS array stays JSON on pg. */
	private bindForWrite(column: Column, value: unknown, params: Parameters): string {
		if (column.kind === "json") return value === null ? params.add(null) : `${params.add(JSON.stringify(value))}::text::${column.udt}`;
		return params.add(value);
	}

	/** json has no equality operator; compare as jsonb. */
	private comparable(column: Column): string {
		return column.kind === "json" ? `${column.sql}::jsonb` : column.sql;
	}

	private bindForCompare(column: Column, value: unknown, params: Parameters): string {
		return column.kind === "json" ? `${params.add(JSON.stringify(value))}::text::jsonb` : params.add(value);
	}

	private condition(field: string, value: unknown, params: Parameters): string {
		const column = this.column(field, "query");
		if (value === null) return `${column.sql} is null`;
		if (isPlainObject(value) && Object.keys(value).some(key => key.startsWith("$"))) {
			const operators = Object.keys(value);
			if (operators.length !== 1 || operators[0] !== "$in") throw invalid(field, `Unsupported filter on ${shown(field)}: only equality, null and $in are supported`, "operator");
			return this.inCondition(column, field, value.$in, params);
		}
		if (value === undefined) throw invalid(field, `Filter on ${shown(field)} has no value`, "value");
		if (Array.isArray(value) && column.kind !== "array" && column.kind !== "json") {
			throw invalid(field, `Filter on ${shown(field)} is a list: use { "$in": [...] } to match any of its values`, "operator");
		}
		if (isPlainObject(value) && column.kind !== "json") throw invalid(field, `Filter on ${shown(field)} must be a value, null or { "$in": [...] }`, "operator");
		return `${this.comparable(column)} = ${this.bindForCompare(column, value, params)}`;
	}

	private inCondition(column: Column, field: string, list: unknown, params: Parameters): string {
		if (!Array.isArray(list)) throw invalid(field, `$in of ${shown(field)} must be a list`, "operator");
		const values = list.filter(item => item !== null && item !== undefined);
		const orNull = values.length < list.length ? ` or ${column.sql} is null` : "";
		if (!values.length) return orNull ? `${column.sql} is null` : "false";
		// One array parameter keeps the statement the same whatever the list's length. JSON values
		// need a cast each, and a list of arrays would bind as one 2-D array, so those two kinds get
		// one placeholder per value.
		const match =
			column.kind === "json" || column.kind === "array"
				? `${this.comparable(column)} in (${values.map(item => this.bindForCompare(column, item, params)).join(", ")})`
				: `${column.sql} = any(${params.add(values)})`;
		return orNull ? `(${match}${orNull})` : match;
	}

	private searchCondition(filters: FindParams, params: Parameters): string | undefined {
		const text = filters.search ?? filters.iSearch;
		if (text === undefined || text === null || text === "") return undefined;
		if (typeof text !== "string") throw invalid("search", "search must be text", "type");
		const requested = typeof filters.searchFields === "string" ? filters.searchFields.split(/[,\s]+/).filter(Boolean) : (filters.searchFields ?? []);
		const columns = requested.length ? requested.map(field => this.column(field, "searchFields")) : [...this.columns.values()].filter(column => column.kind === "text");
		if (!columns.length) return "false";
		const pattern = params.add(`%${escapeLikePattern(text)}%`);
		// Non-text columns are searched in their text form (a number, a JSON document).
		return `(${columns.map(column => `${column.kind === "text" ? column.sql : `${column.sql}::text`} ilike ${pattern}`).join(" or ")})`;
	}

	private whereClause(query: unknown, params: Parameters, search?: FindParams): string {
		if (query !== undefined && query !== null && !isPlainObject(query)) throw invalid("query", "query must be an object of field: value", "type");
		const conditions = Object.entries(query ?? {}).map(([field, value]) => this.condition(field, value, params));
		const searching = search ? this.searchCondition(search, params) : undefined;
		if (searching) conditions.push(searching);
		return conditions.length ? ` where ${conditions.join(" and ")}` : "";
	}

	private orderClause(sort: FindParams["sort"], paged: boolean): string {
		const requested = typeof sort === "string" ? sort.split(/[,\s]+/) : (sort ?? []);
		const terms: string[] = [];
		const used = new Set<string>();
		for (const entry of requested) {
			if (typeof entry !== "string") throw invalid("sort", "sort must list field names", "type");
			if (!entry) continue;
			const descending = entry.startsWith("-");
			const column = this.column(descending ? entry.slice(1) : entry, "sort");
			used.add(column.name);
			terms.push(`${column.sql} ${descending ? "desc" : "asc"}`);
		}
		// Pages of rows that tie on the sort keys must not overlap or skip rows: the id breaks ties.
		if ((terms.length || paged) && !used.has(this.idColumnName)) terms.push(`${this.idColumn.sql} asc`);
		return terms.length ? ` order by ${terms.join(", ")}` : "";
	}

	private static wholeNumber(value: FindParams["limit"], name: string): number | undefined {
		if (value === undefined || value === null || value === "") return undefined;
		const number = typeof value === "string" ? Number(value) : value;
		if (!Number.isSafeInteger(number) || number < 0) throw invalid(name, `${name} must be a whole number, 0 or more`, "number");
		return number;
	}

	// --- reads ---

	async find(filters: FindParams = {}): Promise<Entity[]> {
		const params = new Parameters();
		const limit = SqlDbAdapter.wholeNumber(filters.limit, "limit");
		const offset = SqlDbAdapter.wholeNumber(filters.offset, "offset");
		let sql = `select * from ${this.qualifiedTable}${this.whereClause(filters.query, params, filters)}${this.orderClause(filters.sort, Boolean(limit || offset))}`;
		if (limit) sql += ` limit ${params.add(limit)}`;
		if (offset) sql += ` offset ${params.add(offset)}`;
		return (await this.run<Entity>(sql, params, "read")).rows;
	}

	async findOne(query: EntityQuery): Promise<Entity | null> {
		return (await this.find({ query, limit: 1 }))[0] ?? null;
	}

	async findById(id: unknown): Promise<Entity | null> {
		return (await this.findByIds([id]))[0] ?? null;
	}

	/** Ids that cannot be the column's type (not a uuid, not an integer in range) match nothing. */
	async findByIds(ids: unknown[]): Promise<Entity[]> {
		const possible = ids.filter(id => this.couldBeId(id));
		if (!possible.length) return [];
		const params = new Parameters();
		return (await this.run<Entity>(`select * from ${this.qualifiedTable} where ${this.idColumn.sql} = any(${params.add(possible)})`, params, "read")).rows;
	}

	async count(filters: FindParams = {}): Promise<number> {
		const params = new Parameters();
		const { rows } = await this.run<{ count: number }>(`select count(*) as count from ${this.qualifiedTable}${this.whereClause(filters.query, params, filters)}`, params, "read");
		return Number(rows[0].count);
	}

	// --- writes ---

	/** Inserts one row and returns it as stored: ids and defaults come from the database. */
	async insert(entity: Entity): Promise<Entity> {
		const [row] = await this.insertMany([entity]);
		return row;
	}

	/** One statement for the lot (split only past PostgreSQL's parameter limit, then in one transaction). */
	async insertMany(entities: Entity[]): Promise<Entity[]> {
		if (!Array.isArray(entities)) throw invalid("entities", "entities must be a list", "type");
		if (!entities.length) return [];
		entities.forEach(entity => {
			if (!isPlainObject(entity)) throw invalid("entity", "each entity must be an object", "type");
		});
		const columns: Column[] = [];
		const seen = new Set<string>();
		for (const entity of entities) {
			for (const [field, value] of Object.entries(entity)) {
				if (value === undefined) continue;
				const column = this.column(field, "entity");
				if (!seen.has(column.name)) {
					seen.add(column.name);
					columns.push(column);
				}
			}
		}
		const rowsPerStatement = columns.length ? Math.floor(MAX_PARAMETERS / columns.length) : entities.length;
		if (entities.length <= rowsPerStatement) return this.insertStatement(entities, columns);
		return this.transaction(async (_tx, adapter) => {
			const inserted: Entity[] = [];
			for (let start = 0; start < entities.length; start += rowsPerStatement) {
				inserted.push(...(await adapter.insertStatement(entities.slice(start, start + rowsPerStatement), columns)));
			}
			return inserted;
		});
	}

	private async insertStatement(entities: Entity[], columns: Column[]): Promise<Entity[]> {
		const params = new Parameters();
		if (!columns.length) {
			// Every column from its default: a select with no columns yields rows of defaults only.
			return (await this.run<Entity>(`insert into ${this.qualifiedTable} select from generate_series(1, ${params.add(entities.length)}) returning *`, params, "write")).rows;
		}
		const tuples = entities.map(entity => {
			const cells = columns.map(column => {
				const field = this.fieldOf(entity, column);
				return field === undefined ? "default" : this.bindForWrite(column, entity[field], params);
			});
			return `(${cells.join(", ")})`;
		});
		const sql = `insert into ${this.qualifiedTable} (${columns.map(column => column.sql).join(", ")}) values ${tuples.join(", ")} returning *`;
		return (await this.run<Entity>(sql, params, "write")).rows;
	}

	/** The key of `entity` that fills `column` (the column's name, or the service's id alias). */
	private fieldOf(entity: Entity, column: Column): string | undefined {
		// Own properties only: a column named like an Object.prototype member must not pick that up.
		const has = (key: string) => Object.hasOwn(entity, key) && entity[key] !== undefined;
		if (has(column.name)) return column.name;
		const apiIdField = this.service?.settings?.idField;
		if (column.name === this.idColumnName && apiIdField && has(apiIdField)) return apiIdField;
		return undefined;
	}

	/** `$set` / `$inc` / `$unset`; a plain object is a `$set`. Returns undefined when there is nothing to change. */
	private assignments(update: unknown, params: Parameters): string | undefined {
		if (!isPlainObject(update)) throw invalid("update", "update must be an object", "type");
		const keys = Object.keys(update);
		const operators = keys.some(key => key.startsWith("$")) ? (update as UpdateOperators) : { $set: update };
		for (const key of Object.keys(operators)) {
			if (key !== "$set" && key !== "$inc" && key !== "$unset") throw invalid(key, `Unsupported update operator ${shown(key)}: use $set, $inc or $unset`, "operator");
		}
		const parts: string[] = [];
		const assigned = new Set<string>();
		const target = (field: string) => {
			const column = this.column(field, "update");
			if (column.name === this.idColumnName) throw invalid(field, "The id cannot be changed", "immutable");
			if (assigned.has(column.name)) throw invalid(field, `${shown(field)} is changed twice in one update`, "duplicate");
			assigned.add(column.name);
			return column;
		};
		for (const [field, value] of Object.entries(operators.$set ?? {})) {
			if (value === undefined) continue;
			const column = target(field);
			parts.push(`${column.sql} = ${this.bindForWrite(column, value, params)}`);
		}
		for (const [field, delta] of Object.entries(operators.$inc ?? {})) {
			if (typeof delta !== "number" || !Number.isFinite(delta)) throw invalid(field, `$inc of ${shown(field)} must be a number`, "number");
			const column = target(field);
			parts.push(`${column.sql} = ${column.sql} + ${params.add(delta)}`);
		}
		for (const field of Object.keys(operators.$unset ?? {})) {
			const column = target(field);
			parts.push(`${column.sql} = null`);
		}
		return parts.length ? parts.join(", ") : undefined;
	}

	/** Returns the updated row, or null when no row has that id (or it cannot be an id). */
	async updateById(id: unknown, update: Entity | UpdateOperators): Promise<Entity | null> {
		const params = new Parameters();
		const assignments = this.assignments(update, params);
		if (!this.couldBeId(id)) return null;
		// moleculer-db's `update` action with only an id sends an empty $set: answer with the entity.
		if (!assignments) return this.findById(id);
		const { rows } = await this.run<Entity>(`update ${this.qualifiedTable} set ${assignments} where ${this.idColumn.sql} = ${params.add(id)} returning *`, params, "write");
		return rows[0] ?? null;
	}

	/** Every row matching `query` (all rows for `{}`); returns how many changed. */
	async updateMany(query: EntityQuery, update: Entity | UpdateOperators): Promise<number> {
		const params = new Parameters();
		const assignments = this.assignments(update, params);
		const where = this.whereClause(query, params);
		if (!assignments) return 0;
		return (await this.run(`update ${this.qualifiedTable} set ${assignments}${where}`, params, "write")).rowCount;
	}

	/** Returns the removed row (moleculer-db hands it to `entityRemoved`), or null when there was none. */
	async removeById(id: unknown): Promise<Entity | null> {
		if (!this.couldBeId(id)) return null;
		const params = new Parameters();
		const { rows } = await this.run<Entity>(`delete from ${this.qualifiedTable} where ${this.idColumn.sql} = ${params.add(id)} returning *`, params, "remove");
		return rows[0] ?? null;
	}

	/** Every row matching `query` (all rows for `{}`); returns how many went. */
	async removeMany(query: EntityQuery): Promise<number> {
		const params = new Parameters();
		return (await this.run(`delete from ${this.qualifiedTable}${this.whereClause(query, params)}`, params, "remove")).rowCount;
	}

	/** `delete`, not `truncate`: truncate takes an exclusive lock and ignores open transactions' snapshots. */
	async clear(): Promise<number> {
		return (await this.run(`delete from ${this.qualifiedTable}`, new Parameters(), "remove")).rowCount;
	}

	/**
	 * Runs `work` in one transaction: committed when it resolves, rolled back when it throws.
	 * `adapter` is this adapter bound to the transaction (its CRUD methods run inside it); `tx`
	 * takes hand-written SQL. Called on a bound adapter, it joins the transaction already open.
	 * On PGlite, never use the outer adapter or client inside `work`: its single connection is held
	 * by the transaction, so the call would wait forever.
	 */
	async transaction<T>(work: (tx: SqlExecutor, adapter: SqlDbAdapter) => Promise<T>): Promise<T> {
		if (this.boundExecutor) return work(this.boundExecutor, this);
		if (!this.client) throw new Error(`SqlDbAdapter: "${this.table}" is not connected`);
		return this.client.transaction(tx => work(tx, this.boundTo(tx)));
	}

	private boundTo(tx: SqlExecutor): SqlDbAdapter {
		// A view sharing everything with this adapter but its executor; columns stay in sync.
		const view = Object.create(this) as SqlDbAdapter;
		view.boundExecutor = tx;
		return view;
	}

	// --- moleculer-db's conversions ---

	entityToObject(entity: Entity): Entity {
		const plain: Entity = {};
		for (const [key, value] of Object.entries(entity)) plain[key] = toJsonSafe(value);
		return plain;
	}

	beforeSaveTransformID(entity: Entity, idField: string): Entity {
		const copy = { ...entity };
		if (idField !== this.idColumnName && copy[idField] !== undefined) {
			copy[this.idColumnName] = copy[idField];
			delete copy[idField];
		}
		return copy;
	}

	afterRetrieveTransformID(entity: Entity, idField: string): Entity {
		if (idField !== this.idColumnName && this.idColumnName in entity) {
			entity[idField] = entity[this.idColumnName];
			delete entity[this.idColumnName];
		}
		return entity;
	}

	// --- execution and errors ---

	/**
	 * False for a value the id column's type would reject, so a malformed id reads as "not found"
	 * rather than failing the statement. Stricter than PostgreSQL on exotic spellings (a uuid in
	 * odd hyphen groups, "+5"), which then are not found either.
	 */
	private couldBeId(id: unknown): boolean {
		if (id === null || id === undefined) return false;
		const { udt } = this.idColumn;
		if (udt === "uuid") return typeof id === "string" && /^\{?[0-9a-f]{8}(-?[0-9a-f]{4}){3}-?[0-9a-f]{12}\}?$/i.test(id);
		const max = INTEGER_RANGES[udt];
		if (max !== undefined) {
			const text = typeof id === "number" ? (Number.isSafeInteger(id) ? String(id) : "") : typeof id === "string" || typeof id === "bigint" ? String(id) : "";
			if (!/^-?\d{1,19}$/.test(text)) return false;
			const value = BigInt(text);
			return value <= max && value >= -max - 1n;
		}
		return typeof id === "string" || typeof id === "number" || typeof id === "bigint";
	}

	private async run<R>(sql: string, params: Parameters, operation: "read" | "write" | "remove") {
		try {
			return await this.executor().query<R>(sql, params.values);
		} catch (err) {
			throw this.translate(err, operation);
		}
	}

	/** Constraint violations and bad values are the caller's mistake (4xx), never a 500. */
	private translate(err: unknown, operation: "read" | "write" | "remove"): unknown {
		if (!isSqlError(err) || !err.code) return err;
		const sqlError = err as SqlError & { column?: string };
		const constraint = sqlError.constraint;
		switch (err.code) {
			case SQLSTATE.uniqueViolation: {
				// detail reads `Key (name)=(Fountain) already exists.`: the field names are what clients need.
				const fields = /^Key \((.+?)\)=/.exec(sqlError.detail ?? "")?.[1]?.split(", ") ?? [];
				return clientError("ALREADY_EXISTS", `A ${this.table} entry with the same ${fields.join(", ") || "unique value"} already exists`, { constraint, fields });
			}
			case SQLSTATE.foreignKeyViolation:
				return operation === "remove"
					? clientError("CONFLICT", `This ${this.table} entry is still referenced elsewhere`, { constraint })
					: invalid(constraint ?? "", `A reference in this ${this.table} entry points to nothing`, "reference");
			case SQLSTATE.notNullViolation:
				return invalid(sqlError.column ?? "", `${sqlError.column ? shown(sqlError.column) : "A field"} is required`, "required");
			case SQLSTATE.checkViolation:
				return invalid(constraint ?? "", `A value breaks the rule ${shown(constraint ?? "check")}`, "check");
		}
		// Class 22, data exceptions: a value of the wrong type or out of range for its column.
		if (err.code.startsWith("22")) return invalid(sqlError.column ?? "", `A value does not fit its field: ${sqlError.message}`, "type");
		return err;
	}
}
