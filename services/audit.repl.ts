/**
 * Operator commands for the audit log: check the hash chain and watch entries arrive, from the REPL
 * of any node in the cluster. The calls carry an operator token (operator-token.ts), so the audit
 * service's admin-only actions accept them and know which operator asked.
 */
import { stopOnKeyPress } from "../platform/runtime/terminal-input";
import type { ServiceBroker } from "moleculer";
import type { AuditAnchor, AuditEntry, AuditSearchResult, AuditVerifyResult } from "../contracts/audit";
import { asOperator, reportFailure, type ReplArgs, type ReplCommand } from "../platform/runtime/repl-kit";

type Print = (line: string) => void;

/** One line per entry: what happened, by whom, to what. */
export function formatEntry(entry: AuditEntry): string {
	const actor = entry.actor.id ? `${entry.actor.type}:${entry.actor.id}` : entry.actor.type;
	const subject = entry.subject ? ` → ${entry.subject.type}:${entry.subject.id}` : "";
	const data = entry.data ? ` ${JSON.stringify(entry.data)}` : "";
	return `#${entry.seq} ${entry.at} ${entry.action} by ${actor}${entry.actor.ip ? ` (${entry.actor.ip})` : ""}${subject}${data}`;
}

export function formatVerifyResult(result: AuditVerifyResult): string[] {
	if (result.ok) {
		return [result.head ? `Audit chain intact: ${result.checked} entries, head #${result.head.seq} ${result.head.hash}` : "Audit chain intact: the log is empty"];
	}
	const reasons = {
		hash_mismatch: "its content does not match its hash",
		prev_mismatch: "it does not point at the previous entry's hash",
		gap: "it is missing",
		anchor_mismatch: "it is not the entry recorded outside the database (the chain was rewritten)",
	};
	return [
		`AUDIT CHAIN BROKEN at #${result.firstBroken.seq}: ${reasons[result.firstBroken.reason]} (${result.firstBroken.reason}).`,
		`Entries #1–#${result.lastGood} are intact; ${result.checked} entries checked. Everything from #${result.firstBroken.seq} on is unproven.`,
	];
}

/** `--anchor 1200:ab12…` as the audit service logs it (`Audit head #1200 ab12…`). */
export function parseAnchor(value: unknown): AuditAnchor | undefined {
	if (value === undefined || value === true) return undefined;
	const match = /^#?(\d+)[:\s]+([0-9a-f]{64})$/.exec(String(value).trim());
	if (!match) throw new Error("--anchor must look like <seq>:<64 hex digits>");
	return { anchorSeq: Number(match[1]), anchorHash: match[2] };
}

export async function verifyAudit(broker: ServiceBroker, print: Print, anchor?: AuditAnchor): Promise<AuditVerifyResult> {
	const opts = await asOperator(broker);
	const result = await broker.call<AuditVerifyResult, Partial<AuditAnchor>>("audit.verify", anchor ?? {}, { ...opts, timeout: 0 });
	for (const line of formatVerifyResult(result)) print(line);
	if (!result.ok && result.firstBroken.reason !== "gap") {
		// Shows the stored row as it is now, so the operator sees what was changed.
		const { entries } = await broker.call<{ entries: AuditEntry[] }, { afterSeq: number; limit: number }>("audit.tail", { afterSeq: result.firstBroken.seq - 1, limit: 1 }, opts);
		if (entries[0]) print(`Stored entry: ${JSON.stringify(entries[0])}`);
	}
	return result;
}

export interface FollowOptions {
	/** How many of the newest entries to print first. */
	count?: number;
	/** Stop after this long; runs until `signal` aborts when absent. */
	seconds?: number;
	signal?: AbortSignal;
	pollIntervalMs?: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
	new Promise<void>(resolve => {
		if (signal?.aborted) return resolve();
		const timer = setTimeout(done, ms);
		function done() {
			clearTimeout(timer);
			signal?.removeEventListener("abort", done);
			resolve();
		}
		signal?.addEventListener("abort", done, { once: true });
	});

/** Prints the newest entries, then new ones as they arrive, until stopped; returns the last seq seen. */
export async function followAudit(broker: ServiceBroker, print: Print, options: FollowOptions = {}): Promise<number> {
	const { count = 10, seconds, signal, pollIntervalMs = 1000 } = options;
	const deadline = seconds !== undefined ? Date.now() + seconds * 1000 : Infinity;
	let opts = await asOperator(broker);
	let tokenMintedAt = Date.now();
	const newest = await broker.call<AuditSearchResult, { limit: number }>("audit.search", { limit: Math.min(200, Math.max(1, count)) }, opts);
	const initial = count > 0 ? [...newest.entries].reverse() : [];
	for (const entry of initial) print(formatEntry(entry));
	let afterSeq = newest.entries[0]?.seq ?? 0;
	while (!signal?.aborted && Date.now() < deadline) {
		await sleep(Math.min(pollIntervalMs, Math.max(0, deadline - Date.now())), signal);
		if (signal?.aborted || Date.now() >= deadline) break;
		// Operator tokens live 15 minutes; a long follow renews its own.
		if (Date.now() - tokenMintedAt > 10 * 60_000) {
			opts = await asOperator(broker);
			tokenMintedAt = Date.now();
		}
		const { entries } = await broker.call<{ entries: AuditEntry[] }, { afterSeq: number; limit: number }>("audit.tail", { afterSeq, limit: 500 }, opts);
		for (const entry of entries) print(formatEntry(entry));
		if (entries.length) afterSeq = entries[entries.length - 1].seq;
	}
	return afterSeq;
}

const positiveNumber = (value: unknown): number | undefined => {
	const n = Number(value);
	return value !== undefined && value !== true && Number.isFinite(n) && n >= 0 ? n : undefined;
};

/** The audit service's operator commands (services/index.ts hands them to the REPL). */
export const auditReplCommands: ReplCommand[] = [
	{
		command: "audit-verify",
		description: "Verify the audit log's hash chain; names the first broken entry",
		options: [{ option: "-a, --anchor <seq:hash>", description: "a head recorded outside the database (the audit service logs them) that the chain must still contain" }],
		async action(broker: ServiceBroker, args: ReplArgs | undefined) {
			try {
				const anchor = parseAnchor(args?.options?.anchor);
				await verifyAudit(broker, line => console.log(line), anchor);
			} catch (err) {
				reportFailure("audit-verify", err);
			}
		},
	},
	{
		command: "audit-follow",
		description: "Print the newest audit entries, then new ones every second until a key is pressed",
		options: [
			{ option: "-n, --count <n>", description: "How many of the newest entries to print first (default 10)" },
			{ option: "-s, --seconds <n>", description: "Stop after n seconds instead of on a key press" },
		],
		async action(broker: ServiceBroker, args: ReplArgs | undefined) {
			const seconds = positiveNumber(args?.options?.seconds);
			const count = positiveNumber(args?.options?.count) ?? 10;
			const controller = new AbortController();
			const stopListening = stopOnKeyPress(controller);
			console.log(seconds !== undefined ? `Following the audit log for ${seconds} s…` : "Following the audit log; press a key to stop…");
			try {
				await followAudit(broker, line => console.log(line), { count, seconds, signal: controller.signal });
			} catch (err) {
				reportFailure("audit-follow", err);
			} finally {
				stopListening();
			}
		},
	},
];
