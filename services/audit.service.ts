/**
 * The audit log: every service sends audit-worthy facts (logins, failed logins, refresh-token reuse,
 * role and membership changes, partner verification, account deletion, …) to the durable
 * AUDIT_CHANNEL, and this service's consumer group appends them to a hash-chained, append-only log
 * (domain/audit). Admins search it and verify the chain; operators do both from the REPL.
 *
 * With OPENSEARCH_URL set, appended entries are also indexed into OpenSearch and searches go there.
 * The index is a copy: a failure to index never loses a fact (the SQL append already committed),
 * the index is caught up from the SQL log at start and after failures, searches fall back to SQL
 * while OpenSearch is down, and the chain is only ever verified against SQL.
 */
import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import type { AppConfig } from "../platform/config/env";
import { AUDIT_CHANNEL, type AuditAnchor, type AuditEntry, type AuditSearchParams, type AuditSearchResult, type AuditVerifyResult } from "../contracts/audit";
import { AuditLog, AUDIT_MIGRATIONS, InvalidAuditFactError, SEARCH_DEFAULT_LIMIT, SEARCH_MAX_LIMIT } from "../domain/audit/audit-log";
import { AuditIndexMirror } from "../domain/audit/index-mirror";
import { OpenSearchAuditIndex, SqlAuditSearchIndex } from "../domain/audit/search-index";
import type { ServiceSchemaWithChannels } from "../platform/channels";
import { AppError } from "../platform/errors/app-error";
import { defineService } from "../platform/moleculer/define-service";
import type { JsonSchema } from "../platform/http/openapi";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import { DatabaseMixin, type DatabaseServiceThis } from "../mixins/database.mixin";
import { every, type PeriodicTask } from "../platform/runtime/periodic";

/** How often an OpenSearch index that missed entries is caught up from the SQL log. */
const INDEX_CATCH_UP_INTERVAL_MS = 30_000;
const HEAD_LOG_INTERVAL_MS = 5 * 60_000;
export const TAIL_MAX_LIMIT = 500;

interface Logger {
	info(...args: unknown[]): void;
	warn(...args: unknown[]): void;
	error(...args: unknown[]): void;
}

interface AuditThis extends DatabaseServiceThis {
	name: string;
	broker: ServiceBroker;
	logger: Logger;
	log: AuditLog;
	sqlIndex: SqlAuditSearchIndex;
	openSearch?: OpenSearchAuditIndex;
	/** Keeps the OpenSearch copy complete (domain/audit/index-mirror.ts); only with OPENSEARCH_URL. */
	mirror?: AuditIndexMirror;
	periodic: PeriodicTask[];
}

/** A date, or a date and time with a zone (a time without one would be read in the server's zone). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;
const TIME_PARAM = { type: "string", optional: true, pattern: ISO_TIME } as const;

const ACTOR_SCHEMA: JsonSchema = {
	type: "object",
	required: ["type"],
	properties: { type: { type: "string", enum: ["user", "service", "anonymous", "operator"] }, id: { type: "string" }, ip: { type: "string" } },
};

export const AUDIT_ENTRY_SCHEMA: JsonSchema = {
	type: "object",
	required: ["seq", "id", "at", "actor", "action", "recordedAt", "prevHash", "hash"],
	properties: {
		seq: { type: "integer", minimum: 1, description: "Position in the chain" },
		id: { type: "string", format: "uuid", description: "The fact's id (each is recorded once)" },
		at: { type: "string", format: "date-time", description: "When it happened" },
		actor: ACTOR_SCHEMA,
		action: { type: "string", example: "auth.login.failed" },
		subject: { type: "object", required: ["type", "id"], properties: { type: { type: "string" }, id: { type: "string" } } },
		data: { type: "object", additionalProperties: true },
		requestId: { type: "string" },
		recordedAt: { type: "string", format: "date-time", description: "When the log recorded it" },
		prevHash: { type: "string", pattern: "^[0-9a-f]{64}$" },
		hash: { type: "string", pattern: "^[0-9a-f]{64}$", description: "SHA-256 over prevHash and this entry's canonical content" },
	},
};

const SEARCH_RESULT_SCHEMA: JsonSchema = {
	type: "object",
	required: ["entries"],
	properties: {
		entries: { type: "array", items: AUDIT_ENTRY_SCHEMA },
		nextBefore: { type: "integer", description: "Pass as `before` for the next (older) page; absent on the last page" },
	},
};

const VERIFY_RESULT_SCHEMA: JsonSchema = {
	oneOf: [
		{
			type: "object",
			required: ["ok", "checked", "head"],
			properties: {
				ok: { type: "boolean", const: true },
				checked: { type: "integer" },
				head: { oneOf: [{ type: "null" }, { type: "object", required: ["seq", "hash"], properties: { seq: { type: "integer" }, hash: { type: "string" } } }] },
			},
		},
		{
			type: "object",
			required: ["ok", "checked", "firstBroken", "lastGood"],
			properties: {
				ok: { type: "boolean", const: false },
				checked: { type: "integer" },
				firstBroken: {
					type: "object",
					required: ["seq", "reason"],
					properties: { seq: { type: "integer" }, reason: { type: "string", enum: ["hash_mismatch", "prev_mismatch", "gap", "anchor_mismatch"] } },
				},
				lastGood: { type: "integer", description: "The last seq up to which the chain is intact" },
			},
		},
	],
};

function checkTime(name: "from" | "to", value: string | undefined): void {
	if (value !== undefined && !Number.isFinite(Date.parse(value))) {
		throw new AppError("VALIDATION_FAILED", `${name} is not a valid date`, [{ field: name, message: "must be an ISO-8601 date or date-time with a zone" }]);
	}
}

export function createAuditService(config: AppConfig): ServiceSchema {
	const schema: ServiceSchemaWithChannels = defineService({
		name: "audit",
		mixins: [DatabaseMixin(AUDIT_MIGRATIONS), AccessControlMixin()],
		settings: { rest: "/" },

		actions: {
			search: {
				rest: "GET /admin/audit",
				access: "admin",
				params: {
					actor: { type: "string", optional: true, min: 1, max: 200 },
					action: { type: "string", optional: true, min: 1, max: 100 },
					subject: { type: "string", optional: true, min: 1, max: 200 },
					from: TIME_PARAM,
					to: TIME_PARAM,
					before: { type: "number", integer: true, positive: true, max: Number.MAX_SAFE_INTEGER, convert: true, optional: true },
					limit: { type: "number", integer: true, min: 1, max: SEARCH_MAX_LIMIT, convert: true, optional: true, default: SEARCH_DEFAULT_LIMIT },
				},
				openapi: {
					summary: "Search the audit log, newest first",
					description:
						"Filters combine: `actor` (actor id), `action` (exact, or a prefix ending in `.` such as `auth.`), `subject` (subject id), " +
						"`from` (inclusive) and `to` (exclusive) on the time the fact happened. Page with `before` = the previous page's `nextBefore`.",
					tags: ["admin", "audit"],
					security: "bearer",
					response: SEARCH_RESULT_SCHEMA,
				},
				async handler(this: AuditThis, ctx: Context<AuditSearchParams>): Promise<AuditSearchResult> {
					checkTime("from", ctx.params.from);
					checkTime("to", ctx.params.to);
					if (this.openSearch) {
						try {
							return await this.openSearch.search(ctx.params);
						} catch (err) {
							this.logger.warn("OpenSearch search failed; answering from the SQL log:", (err as Error).message);
						}
					}
					return this.sqlIndex.search(ctx.params);
				},
			},

			verify: {
				rest: "GET /admin/audit/verify",
				access: "admin",
				// Walks the whole chain; a long log takes longer than an ordinary request.
				timeout: 120_000,
				params: {
					anchorSeq: { type: "number", integer: true, positive: true, max: Number.MAX_SAFE_INTEGER, convert: true, optional: true },
					anchorHash: { type: "string", pattern: /^[0-9a-f]{64}$/, optional: true },
				},
				openapi: {
					summary: "Verify the audit log's hash chain and report the first broken link",
					description:
						"Give `anchorSeq` and `anchorHash` from a head recorded outside the database (the audit service logs one every few minutes) " +
						"to also catch a chain rewritten from scratch: it then fails with `anchor_mismatch` at that seq.",
					tags: ["admin", "audit"],
					security: "bearer",
					response: VERIFY_RESULT_SCHEMA,
				},
				async handler(this: AuditThis, ctx: Context<Partial<AuditAnchor>>): Promise<AuditVerifyResult> {
					const { anchorSeq, anchorHash } = ctx.params;
					// Half an anchor would silently verify nothing beyond the chain itself.
					if ((anchorSeq === undefined) !== (anchorHash === undefined)) {
						const missing = anchorSeq === undefined ? "anchorSeq" : "anchorHash";
						throw new AppError("VALIDATION_FAILED", undefined, [{ field: missing, message: "An anchor needs both anchorSeq and anchorHash", rule: "required" }]);
					}
					const result = await this.log.verifyAgainst(anchorSeq !== undefined && anchorHash !== undefined ? { anchorSeq, anchorHash } : undefined);
					if (!result.ok) this.logger.error(`Audit chain broken at seq ${result.firstBroken.seq} (${result.firstBroken.reason}); intact up to ${result.lastGood}`);
					return result;
				},
			},

			tail: {
				access: "admin",
				params: {
					afterSeq: { type: "number", integer: true, min: 0, max: Number.MAX_SAFE_INTEGER, convert: true, optional: true, default: 0 },
					limit: { type: "number", integer: true, min: 1, max: TAIL_MAX_LIMIT, convert: true, optional: true, default: 100 },
				},
				async handler(this: AuditThis, ctx: Context<{ afterSeq: number; limit: number }>): Promise<{ entries: AuditEntry[] }> {
					return { entries: await this.log.tail(ctx.params.afterSeq, ctx.params.limit) };
				},
			},
		},

		async started(this: AuditThis) {
			this.log = new AuditLog(this.db, this.name);
			// The head goes to the logs, which leave the database's reach: an anchor for `verify`.
			let loggedSeq = 0;
			const logHead = async () => {
				const head = await this.log.headOf();
				if (head && head.seq !== loggedSeq) {
					loggedSeq = head.seq;
					this.logger.info(`Audit head #${head.seq} ${head.hash}`);
				}
			};
			this.periodic = [every(HEAD_LOG_INTERVAL_MS, logHead, err => this.logger.warn(`Could not read the audit head: ${err.message}`))];
			this.sqlIndex = new SqlAuditSearchIndex(this.log);
			if (config.opensearchUrl) {
				this.openSearch = new OpenSearchAuditIndex({ url: config.opensearchUrl, namespace: config.namespace });
				const mirror = new AuditIndexMirror(this.log, this.openSearch, this.logger);
				this.mirror = mirror;
				// Start-up must not wait for (or fail with) OpenSearch: the catch-up runs in the background.
				void mirror.start();
				// The mirror reports its own failures and keeps its mark for the next run.
				this.periodic.push(
					every(
						INDEX_CATCH_UP_INTERVAL_MS,
						() => mirror.catchUp(),
						() => undefined,
					),
				);
			}
		},

		async stopped(this: AuditThis) {
			for (const task of this.periodic ?? []) task.stop();
			await this.mirror?.settled();
			await this.openSearch?.close();
		},
	});

	schema.channels = {
		[AUDIT_CHANNEL]: {
			group: "audit",
			// Appends are serialised by the chain's head lock anyway; one at a time also keeps a node's
			// entries in the order the channel delivers them, instead of whichever append locks first.
			maxInFlight: 1,
			async handler(this: unknown, ctx: Context<unknown>) {
				const self = this as AuditThis;
				try {
					const { entry, duplicate } = await self.log.append(ctx.params);
					if (!duplicate) self.mirror?.indexed(entry);
				} catch (err) {
					// Rethrown either way: a malformed fact is retried a few times like any failure, then
					// dead-lettered, where an operator can see what a producer sent instead of it vanishing.
					if (err instanceof InvalidAuditFactError) self.logger.error(`Refusing an audit fact (${err.problems.join("; ")}); it goes to the dead-letter channel after its retries`);
					throw err;
				}
			},
		},
	};
	return schema;
}
