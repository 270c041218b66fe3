/**
 * The hunts service's operator commands: `hunts` (by status and partner) and `hunt <id>` (its
 * graph's ends, what blocks publication, its search zones).
 */
import type { ServiceBroker } from "moleculer";
import type { HuntView } from "../contracts/hunts";
import { asOperator, reportFailure, type ReplArgs, type ReplCommand, type ReplHelpers } from "../platform/runtime/repl-kit";

export async function huntRows(broker: ServiceBroker, filter: { status?: string; partnerId?: string }): Promise<string[][]> {
	const { items } = await broker.call<{ items: HuntView[] }, Record<string, unknown>>("hunts.adminList", { ...filter, limit: 500 }, await asOperator(broker));
	return [
		["id", "status", "title", "partner", "clues", "window"],
		...items.map(hunt => [hunt.id, hunt.status, hunt.title, hunt.partnerId, String(hunt.clues.length), `${hunt.startsAt} → ${hunt.endsAt}`]),
	];
}

interface Inspection {
	hunt: HuntView;
	problems: Array<{ code: string; clueId?: string; message: string }>;
	starts: string[];
	finishes: string[];
	zones: Array<{ clueId: string; zone: { lat: number; lon: number; radiusM: number } | null }>;
}

export async function huntReport(broker: ServiceBroker, id: string): Promise<string> {
	const report = await broker.call<Inspection, { id: string }>("hunts.inspect", { id }, await asOperator(broker));
	const titles = new Map(report.hunt.clues.map(clue => [clue.id, clue.title]));
	const name = (clueId: string) => `${titles.get(clueId) ?? "?"} (${clueId})`;
	return [
		`${report.hunt.title} [${report.hunt.status}] partner ${report.hunt.partnerId}, ${report.hunt.clues.length} clue(s), ${report.hunt.paths.length} path(s)`,
		`starts: ${report.starts.map(name).join(", ") || "none"}`,
		`finishes: ${report.finishes.map(name).join(", ") || "none"}`,
		`paths: ${report.hunt.paths.map(path => `${titles.get(path.from) ?? path.from} → ${titles.get(path.to) ?? path.to}`).join(", ") || "none"}`,
		report.problems.length ? `problems:\n${report.problems.map(problem => `  ${problem.code}: ${problem.message}`).join("\n")}` : "problems: none (it can be published)",
		`zones: ${report.zones.map(({ clueId, zone }) => `${titles.get(clueId)} ${zone ? `(${zone.lat.toFixed(5)}, ${zone.lon.toFixed(5)}) r=${zone.radiusM} m` : "not drawn yet"}`).join("; ")}`,
	].join("\n");
}

export const huntsReplCommands: ReplCommand[] = [
	{
		command: "hunts",
		description: "List hunts (newest first), by status and partner",
		options: [
			{ option: "-s, --status <status>", description: "draft, published or archived" },
			{ option: "-p, --partner <id>", description: "one partner's hunts" },
		],
		async action(broker: ServiceBroker, args: ReplArgs | undefined, helpers: ReplHelpers) {
			try {
				const options = args?.options ?? {};
				const rows = await huntRows(broker, { ...(options.status ? { status: String(options.status) } : {}), ...(options.partner ? { partnerId: String(options.partner) } : {}) });
				console.log(helpers.table(rows));
			} catch (err) {
				reportFailure("hunts", err);
			}
		},
	},
	{
		command: "hunt <id>",
		description: "A hunt's graph (starts, finishes, paths), what blocks its publication, and its search zones",
		async action(broker: ServiceBroker, args: ReplArgs | undefined) {
			try {
				console.log(await huntReport(broker, String(args?.id)));
			} catch (err) {
				reportFailure("hunt", err);
			}
		},
	},
];
