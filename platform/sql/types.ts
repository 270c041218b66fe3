/**
 * The SQL surface every service sees, whichever engine is behind it: embedded PGlite in development
 * and tests, PostgreSQL through `pg` when DATABASE_URL is set. Both return the same JS types
 * (int8 → number, or bigint beyond ±2^53; numeric → string; timestamptz → Date; json/jsonb →
 * parsed; bytea → bytes) so a query behaves the same on both; the contract suite in
 * sql.contract.ts holds them to it. One input difference remains: pg sends a JS array parameter
 * as a Postgres array, so bind jsonb arrays as JSON text (`$1::text::jsonb`, JSON.stringify).
 */
export interface QueryResult<Row> {
	rows: Row[];
	/** Rows inserted, updated or deleted (0 for a SELECT on PGlite, its row count on pg). */
	rowCount: number;
}

export interface SqlExecutor {
	query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
}

export interface SqlClient extends SqlExecutor {
	readonly engine: "pglite" | "postgres";
	/**
	 * Runs `work` in one transaction: committed when it resolves, rolled back when it throws.
	 * Nested calls are not supported: pass the `tx` executor down instead.
	 */
	transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
	/** Several statements without parameters (migrations, DDL). */
	exec(script: string): Promise<void>;
	/** Checks the engine answers; used by readiness probes. */
	ping(): Promise<void>;
	close(): Promise<void>;
}

/** A PostgreSQL error as both drivers report it (SQLSTATE in `code`). */
export interface SqlError extends Error {
	code?: string;
	constraint?: string;
	detail?: string;
}

export const SQLSTATE = {
	uniqueViolation: "23505",
	foreignKeyViolation: "23503",
	checkViolation: "23514",
	notNullViolation: "23502",
	serializationFailure: "40001",
	deadlockDetected: "40P01",
	undefinedTable: "42P01",
} as const;

export function isSqlError(err: unknown, code?: string): err is SqlError {
	return err instanceof Error && typeof (err as SqlError).code === "string" && (code === undefined || (err as SqlError).code === code);
}
