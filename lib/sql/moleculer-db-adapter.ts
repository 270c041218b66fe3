/**
 * A moleculer-db adapter over our SqlClient, so entity services get moleculer-db's CRUD actions,
 * paging, sorting, search and field filtering on embedded PGlite or PostgreSQL alike.
 *
 * Tables come from the service's migrations, never from the adapter. At connect the adapter reads
 * the table's columns, and from then on every field name coming from a caller (query, sort,
 * search fields, entity keys) must be one of them: identifiers are checked and quoted, values are
 * always bound parameters.
 */
import { AppError } from "../errors/app-error";
import { assertIdentifier } from "./migrations";
import { isSqlError, SQLSTATE, type SqlClient, type SqlExecutor } from "./types";

type Row = Record<string, unknown>;
type Query = Record<string, unknown>;

export interface FindParams {
	query?: Query;
	search?: string;
	searchFields?: string | string[];
	sort?: string | string[];
	limit?: number;
	offset?: number;
}

interface UpdateOperators {
	$set?: Row;
	$inc?: Record<string, number>;
	$unset?: Record<string, unknown>;
}

export interface SqlDbAdapterOptions {
	table: string;
	/** Defaults to the service's name: a service owns the schema named after it. */
	schema?: string;
	/** The service's database, resolved at connect (after its migrations ran). */
	database(service: { name: string; broker: unknown }): Promise<SqlClient> | SqlClient;
	/** The primary key column (the service's `settings.idField` should match). */
	idField?: string;
}

interface ColumnInfo {
	dataType: string;
}

const JSON_TYPES = new Set(["json", "jsonb"]);
const TEXT_TYPES = new Set(["text", "character varying", "character", "citext"]);

function escapeLike(value: string): string {
	return value.replace(/[\\%_]/g, ch => `\\${ch}`);
}

function unknownField(field: string): AppError {
	return new AppError("VALIDATION_FAILED", `Unknown field "${field}"`, [{ field, message: `"${field}" is not a field of this resource`, rule: "unknownField" }]);
}

export class SqlDbAdapter {
	private service!: { name: string; broker: unknown };
	private db!: SqlClient;
	private schema!: string;
	private readonly table: string;
	private readonly idField: string;
	private columns = new Map<string, ColumnInfo>();

	constructor(private readonly opts: SqlDbAdapterOptions) {
		this.table = assertIdentifier(opts.table, "table name");
		this.idField = opts.idField ?? "id";
	}

	init(_broker: unknown, service: { name: string; broker: unknown }): void {
		this.service = service;
		this.schema = assertIdentifier(this.opts.schema ?? service.name, "schema name");
	}

	async connect(): Promise<void> {
		this.db = await this.opts.database(this.service);
		const { rows } = await this.db.query<{ column_name: string; data_type: string }>(
			"select column_name, data_type from information_schema.columns where table_schema = $1 and table_name = $2",
			[this.schema, this.table],
		);
		if (!rows.length) throw new Error(`Table ${this.schema}.${this.table} does not exist: add it in the service's migrations`);
		this.columns = new Map(rows.map(row => [row.column_name, { dataType: row.data_type }]));
		if (!this.columns.has(this.idField)) throw new Error(`Table ${this.schema}.${this.table} has no "${this.idField}" column`);
	}

	async disconnect(): Promise<void> {
		// The database belongs to the node (lib/runtime/node-backends.ts); it closes it.
	}

	/** Runs several writes atomically; pass `tx` to the adapter's `*In` methods or query directly. */
	transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
		return this.db.transaction(work);
	}

	private get qualified(): string {
		return `"${this.schema}"."${this.table}"`;
	}

	private column(field: string): string {
		if (!this.columns.has(field)) throw unknownField(field);
		return `"${field}"`;
	}

	private toDatabaseValue(field: string, value: unknown): unknown {
		const info = this.columns.get(field);
		if (info && JSON_TYPES.has(info.dataType) && value !== null && value !== undefined) return JSON.stringify(value);
		return value;
	}

	private where(query: Query | undefined, params: unknown[]): string[] {
		const conditions: string[] = [];
		for (const [field, value] of Object.entries(query ?? {})) {
			const column = this.column(field);
			if (value === null) {
				conditions.push(`${column} is null`);
			} else if (Array.isArray(value) || (typeof value === "object" && value !== null && "$in" in value)) {
				const list = Array.isArray(value) ? value : (value as { $in: unknown }).$in;
				if (!Array.isArray(list)) throw new AppError("VALIDATION_FAILED", `$in of "${field}" must be a list`, [{ field, message: "$in must be a list" }]);
				params.push(list.map(item => this.toDatabaseValue(field, item)));
				conditions.push(`${column} = any($${params.length})`);
			} else if (typeof value === "object" && !(value instanceof Date)) {
				throw new AppError("VALIDATION_FAILED", `Unsupported filter on "${field}"`, [{ field, message: "only equality, null and $in filters are supported" }]);
			} else {
				params.push(this.toDatabaseValue(field, value));
				conditions.push(`${column} = $${params.length}`);
			}
		}
		return conditions;
	}

	private searchCondition(params: FindParams, values: unknown[]): string | undefined {
		if (typeof params.search !== "string" || params.search === "") return undefined;
		const requested = typeof params.searchFields === "string" ? params.searchFields.split(/[,\s]+/).filter(Boolean) : params.searchFields;
		const fields = requested?.length ? requested : [...this.columns].filter(([, info]) => TEXT_TYPES.has(info.dataType)).map(([name]) => name);
		if (!fields.length) return "false";
		values.push(`%${escapeLike(params.search)}%`);
		return `(${fields.map(field => `${this.column(field)}::text ilike $${values.length}`).join(" or ")})`;
	}

	private orderBy(sort: FindParams["sort"]): string {
		const fields = typeof sort === "string" ? sort.split(/[,\s]+/).filter(Boolean) : (sort ?? []);
		if (!fields.length) return "";
		return ` order by ${fields.map(field => (field.startsWith("-") ? `${this.column(field.slice(1))} desc` : `${this.column(field)} asc`)).join(", ")}`;
	}

	private filtered(params: FindParams, values: unknown[]): string {
		const conditions = this.where(params.query, values);
		const search = this.searchCondition(params, values);
		if (search) conditions.push(search);
		return conditions.length ? ` where ${conditions.join(" and ")}` : "";
	}

	async find(params: FindParams = {}): Promise<Row[]> {
		const values: unknown[] = [];
		let sql = `select * from ${this.qualified}${this.filtered(params, values)}${this.orderBy(params.sort)}`;
		if (typeof params.limit === "number" && params.limit > 0) {
			values.push(Math.floor(params.limit));
			sql += ` limit $${values.length}`;
		}
		if (typeof params.offset === "number" && params.offset > 0) {
			values.push(Math.floor(params.offset));
			sql += ` offset $${values.length}`;
		}
		return (await this.run<Row>(sql, values)).rows;
	}

	async findOne(query: Query): Promise<Row | null> {
		return (await this.find({ query, limit: 1 }))[0] ?? null;
	}

	async findById(id: unknown): Promise<Row | null> {
		return (await this.byIds([id]))[0] ?? null;
	}

	async findByIds(ids: unknown[]): Promise<Row[]> {
		return this.byIds(ids);
	}

	private async byIds(ids: unknown[]): Promise<Row[]> {
		try {
			return (await this.db.query<Row>(`select * from ${this.qualified} where "${this.idField}" = any($1)`, [ids])).rows;
		} catch (err) {
			// An id that cannot be one (not a uuid, not a number) simply matches nothing.
			if (isSqlError(err, "22P02")) return [];
			throw err;
		}
	}

	async count(params: FindParams = {}): Promise<number> {
		const values: unknown[] = [];
		const { rows } = await this.run<{ n: number }>(`select count(*)::int as n from ${this.qualified}${this.filtered(params, values)}`, values);
		return rows[0].n;
	}

	async insert(entity: Row): Promise<Row> {
		return (await this.insertMany([entity]))[0];
	}

	async insertMany(entities: Row[]): Promise<Row[]> {
		if (!entities.length) return [];
		const fields = [...new Set(entities.flatMap(entity => Object.keys(entity).filter(key => entity[key] !== undefined)))];
		fields.forEach(field => this.column(field));
		const values: unknown[] = [];
		const rows = entities.map(entity => {
			const cells = fields.map(field => {
				if (entity[field] === undefined) return "default";
				values.push(this.toDatabaseValue(field, entity[field]));
				return `$${values.length}`;
			});
			return `(${cells.join(", ")})`;
		});
		const sql = fields.length
			? `insert into ${this.qualified} (${fields.map(f => `"${f}"`).join(", ")}) values ${rows.join(", ")} returning *`
			: `insert into ${this.qualified} default values returning *`;
		return (await this.run<Row>(sql, values)).rows;
	}

	private assignments(update: Row | UpdateOperators, values: unknown[]): string {
		const operators = update as UpdateOperators;
		const isOperatorUpdate = ["$set", "$inc", "$unset"].some(op => op in update);
		const set = isOperatorUpdate ? (operators.$set ?? {}) : (update as Row);
		const parts: string[] = [];
		for (const [field, value] of Object.entries(set)) {
			if (field === this.idField) continue;
			values.push(this.toDatabaseValue(field, value));
			parts.push(`${this.column(field)} = $${values.length}`);
		}
		for (const [field, delta] of Object.entries(isOperatorUpdate ? (operators.$inc ?? {}) : {})) {
			values.push(delta);
			parts.push(`${this.column(field)} = ${this.column(field)} + $${values.length}`);
		}
		for (const field of Object.keys(isOperatorUpdate ? (operators.$unset ?? {}) : {})) parts.push(`${this.column(field)} = null`);
		if (!parts.length) throw new AppError("VALIDATION_FAILED", "Nothing to update");
		return parts.join(", ");
	}

	async updateMany(query: Query, update: Row | UpdateOperators): Promise<number> {
		const values: unknown[] = [];
		const assignments = this.assignments(update, values);
		const conditions = this.where(query, values);
		const result = await this.run(`update ${this.qualified} set ${assignments}${conditions.length ? ` where ${conditions.join(" and ")}` : ""}`, values);
		return result.rowCount;
	}

	async updateById(id: unknown, update: Row | UpdateOperators): Promise<Row | null> {
		const values: unknown[] = [];
		const assignments = this.assignments(update, values);
		values.push(id);
		try {
			return (await this.run<Row>(`update ${this.qualified} set ${assignments} where "${this.idField}" = $${values.length} returning *`, values)).rows[0] ?? null;
		} catch (err) {
			if (isSqlError(err, "22P02") && String((err as Error).message).includes(String(id))) return null;
			throw err;
		}
	}

	async removeMany(query: Query): Promise<number> {
		const values: unknown[] = [];
		const conditions = this.where(query, values);
		return (await this.run(`delete from ${this.qualified}${conditions.length ? ` where ${conditions.join(" and ")}` : ""}`, values)).rowCount;
	}

	async removeById(id: unknown): Promise<Row | null> {
		try {
			return (await this.db.query<Row>(`delete from ${this.qualified} where "${this.idField}" = $1 returning *`, [id])).rows[0] ?? null;
		} catch (err) {
			if (isSqlError(err, "22P02")) return null;
			throw err;
		}
	}

	async clear(): Promise<number> {
		return (await this.db.query(`delete from ${this.qualified}`)).rowCount;
	}

	entityToObject(entity: Row): Row {
		return { ...entity };
	}

	beforeSaveTransformID(entity: Row): Row {
		return entity;
	}

	afterRetrieveTransformID(entity: Row): Row {
		return entity;
	}

	/** Turns constraint violations into the client errors they are. */
	private async run<R>(sql: string, values: unknown[]) {
		try {
			return await this.db.query<R>(sql, values);
		} catch (err) {
			if (isSqlError(err, SQLSTATE.uniqueViolation)) throw new AppError("ALREADY_EXISTS", "A record with the same unique value already exists", { constraint: (err as { constraint?: string }).constraint });
			if (isSqlError(err, SQLSTATE.notNullViolation) || isSqlError(err, SQLSTATE.checkViolation) || isSqlError(err, "22P02") || isSqlError(err, "22001")) {
				throw new AppError("VALIDATION_FAILED", "A value does not fit this resource", [{ field: (err as { column?: string }).column ?? "", message: (err as Error).message }]);
			}
			if (isSqlError(err, SQLSTATE.foreignKeyViolation)) throw new AppError("CONFLICT", "It refers to something that does not exist", { constraint: (err as { constraint?: string }).constraint });
			throw err;
		}
	}
}
