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
import { AUDIT_CHANNEL, auditContract } from "../contracts/audit";
import { AuditLog, AUDIT_MIGRATIONS, InvalidAuditFactError } from "../domain/audit/audit-log";
import { AuditIndexMirror } from "../domain/audit/index-mirror";
import { OpenSearchAuditIndex, SqlAuditSearchIndex } from "../domain/audit/search-index";
import { AppError } from "../platform/errors/app-error";
import { defineService } from "../platform/moleculer/define-service";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import { ServiceDatabase } from "../mixins/database.mixin";
import { every, type PeriodicTask } from "../platform/runtime/periodic";
import type { ServiceDeps } from "./deps";

/** How often an OpenSearch index that missed entries is caught up from the SQL log. */
const INDEX_CATCH_UP_INTERVAL_MS = 30_000;
const HEAD_LOG_INTERVAL_MS = 5 * 60_000;

function checkTime(name: "from" | "to", value: string | undefined): void {
	if (value !== undefined && !Number.isFinite(Date.parse(value))) {
		throw new AppError("VALIDATION_FAILED", `${name} is not a valid date`, [{ field: name, message: "must be an ISO-8601 date or date-time with a zone" }]);
	}
}

export function createAuditService({ config, backends }: ServiceDeps) {
	const database = new ServiceDatabase(backends, "audit", AUDIT_MIGRATIONS);
	let log!: AuditLog;
	let sqlIndex!: SqlAuditSearchIndex;
	let openSearch: OpenSearchAuditIndex | undefined;
	/** Keeps the OpenSearch copy complete (domain/audit/index-mirror.ts); only with OPENSEARCH_URL. */
	let mirror: AuditIndexMirror | undefined;
	const periodic: PeriodicTask[] = [];

	return defineService(auditContract, {
		mixins: [database.mixin(), AccessControlMixin()],
		settings: { rest: "/" },

		actions: {
			search: {
				rest: "GET /admin/audit",
				access: "admin",
				openapi: {
					summary: "Search the audit log, newest first",
					description:
						"Filters combine: `actor` (actor id), `action` (exact, or a prefix ending in `.` such as `auth.`), `subject` (subject id), " +
						"`from` (inclusive) and `to` (exclusive) on the time the fact happened. Page with `before` = the previous page's `nextBefore`.",
					tags: ["admin", "audit"],
					security: "bearer",
				},
				async handler(ctx) {
					checkTime("from", ctx.params.from);
					checkTime("to", ctx.params.to);
					if (openSearch) {
						try {
							return await openSearch.search(ctx.params);
						} catch (err) {
							this.logger.warn("OpenSearch search failed; answering from the SQL log:", (err as Error).message);
						}
					}
					return sqlIndex.search(ctx.params);
				},
			},

			verify: {
				rest: "GET /admin/audit/verify",
				access: "admin",
				// Walks the whole chain; a long log takes longer than an ordinary request.
				timeout: 120_000,
				openapi: {
					summary: "Verify the audit log's hash chain and report the first broken link",
					description:
						"Give `anchorSeq` and `anchorHash` from a head recorded outside the database (the audit service logs one every few minutes) " +
						"to also catch a chain rewritten from scratch: it then fails with `anchor_mismatch` at that seq.",
					tags: ["admin", "audit"],
					security: "bearer",
				},
				async handler(ctx) {
					const { anchorSeq, anchorHash } = ctx.params;
					// Half an anchor would silently verify nothing beyond the chain itself.
					if ((anchorSeq === undefined) !== (anchorHash === undefined)) {
						const missing = anchorSeq === undefined ? "anchorSeq" : "anchorHash";
						throw new AppError("VALIDATION_FAILED", undefined, [{ field: missing, message: "An anchor needs both anchorSeq and anchorHash", rule: "required" }]);
					}
					const result = await log.verifyAgainst(anchorSeq !== undefined && anchorHash !== undefined ? { anchorSeq, anchorHash } : undefined);
					if (!result.ok) this.logger.error(`Audit chain broken at seq ${result.firstBroken.seq} (${result.firstBroken.reason}); intact up to ${result.lastGood}`);
					return result;
				},
			},

			tail: {
				access: "admin",
				async handler(ctx) {
					return { entries: await log.tail(ctx.params.afterSeq, ctx.params.limit) };
				},
			},
		},

		channels: {
			[AUDIT_CHANNEL]: {
				group: "audit",
				// Appends are serialised by the chain's head lock anyway; one at a time also keeps a node's
				// entries in the order the channel delivers them, instead of whichever append locks first.
				maxInFlight: 1,
				async handler(ctx) {
					try {
						const { entry, duplicate } = await log.append(ctx.params);
						if (!duplicate) mirror?.indexed(entry);
					} catch (err) {
						// Rethrown either way: a malformed fact is retried a few times like any failure, then
						// dead-lettered, where an operator can see what a producer sent instead of it vanishing.
						if (err instanceof InvalidAuditFactError) this.logger.error(`Refusing an audit fact (${err.problems.join("; ")}); it goes to the dead-letter channel after its retries`);
						throw err;
					}
				},
			},
		},

		async started() {
			log = new AuditLog(database.db, "audit");
			// The head goes to the logs, which leave the database's reach: an anchor for `verify`.
			let loggedSeq = 0;
			const logHead = async () => {
				const head = await log.headOf();
				if (head && head.seq !== loggedSeq) {
					loggedSeq = head.seq;
					this.logger.info(`Audit head #${head.seq} ${head.hash}`);
				}
			};
			periodic.push(every(HEAD_LOG_INTERVAL_MS, logHead, err => this.logger.warn(`Could not read the audit head: ${err.message}`)));
			sqlIndex = new SqlAuditSearchIndex(log);
			if (config.opensearchUrl) {
				openSearch = new OpenSearchAuditIndex({ url: config.opensearchUrl, namespace: config.namespace });
				const started = new AuditIndexMirror(log, openSearch, this.logger);
				mirror = started;
				// Published on the service for operators and tests that catch the index up without waiting.
				Object.assign(this, { mirror });
				// Start-up must not wait for (or fail with) OpenSearch: the catch-up runs in the background.
				void started.start();
				// The mirror reports its own failures and keeps its mark for the next run.
				periodic.push(
					every(
						INDEX_CATCH_UP_INTERVAL_MS,
						() => started.catchUp(),
						() => undefined,
					),
				);
			}
		},

		async stopped() {
			for (const task of periodic.splice(0)) task.stop();
			await mirror?.settled();
			await openSearch?.close();
		},
	});
}
