/**
 * Runs on every node: what the node is and whether its backends answer.
 */
import { T, defineContract, type Static } from "./kit";

const Backend = T.Object({
	status: T.Union([T.Literal("up"), T.Literal("down")]),
	/** What it is, with credentials removed: "embedded", "redis://cache:6379", … */
	target: T.String(),
	latencyMs: T.Number(),
	error: T.Optional(T.String()),
});
const HealthReport = T.Object({ status: T.Union([T.Literal("up"), T.Literal("down")]), nodeID: T.String(), backends: T.Record(T.String(), Backend) }, { title: "HealthReport" });
const NodeInfo = T.Object({
	nodeID: T.String(),
	version: T.String(),
	node: T.String(),
	hostname: T.String(),
	uptimeSeconds: T.Integer(),
	memory: T.Object({ rssMb: T.Number(), heapUsedMb: T.Number() }),
	services: T.Array(T.String()),
});

export const systemContract = defineContract({
	service: "system",
	description: "Each node's identity and health, and the server clock",
	actions: {
		ping: { result: T.Object({ pong: T.Literal(true), serverTime: T.String({ format: "date-time" }) }) },
		health: { result: HealthReport },
		info: { result: NodeInfo },
	},
	events: {},
	channels: {},
});

export type BackendReport = Static<typeof Backend>;
export type HealthReport = Static<typeof HealthReport>;
export type NodeInfo = Static<typeof NodeInfo>;
