import type { SqlClient, SqlExecutor } from "./types";

/**
 * A client whose every statement runs in the enclosing transaction `tx`, for stores that take part
 * in a unit of work they did not start (a state change and the outbox rows about it). Its own
 * transaction() joins the enclosing one: commit and rollback stay with whoever opened it, and a
 * failure inside rolls the whole unit back. Going through `tx` matters beyond atomicity: PGlite has
 * one connection, so a statement sent outside an open transaction would wait for it forever.
 */
export function joinTransaction(tx: SqlExecutor, engine: SqlClient["engine"]): SqlClient {
	return {
		engine,
		query: (text, params) => tx.query(text, params),
		transaction: work => work(tx),
		exec: async () => {
			throw new Error("exec() runs scripts outside transactions; it is not available inside one");
		},
		ping: async () => {
			await tx.query("select 1");
		},
		close: async () => {
			throw new Error("A joined transaction belongs to its opener and cannot be closed here");
		},
	};
}
