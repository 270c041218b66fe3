/**
 * What every gateway node (the `api` service) offers about its live notification connections
 * (server-sent events and WebSocket): operators ask each node in turn, since a connection lives on
 * the one node that accepted it.
 */
import { T, defineContract } from "./kit";
import { IsoDateTime, Uuid } from "./identity";

const LiveConnection = T.Object(
	{
		id: T.Integer({ minimum: 1, description: "The connection's number on its node" }),
		userId: Uuid(),
		sessionPrefix: T.String({ description: "The first characters of the session id: enough to tell sessions apart" }),
		transport: T.Union([T.Literal("sse"), T.Literal("ws")]),
		connectedAt: IsoDateTime(),
		lastEventId: T.Optional(T.Integer({ minimum: 0, description: "The last notification number sent (or resumed after)" })),
		catchingUp: T.Boolean({ description: "Fetching what the client missed; live ones are held back meanwhile" }),
	},
	{ title: "LiveConnection" },
);

export const liveContract = defineContract({
	service: "api",
	description: "The gateway: live notification connections on each node",
	actions: {
		liveConnections: {
			params: T.Object({ userId: Uuid() }),
			result: T.Object({ nodeID: T.String(), total: T.Integer({ minimum: 0, description: "Every live connection on the node" }), items: T.Array(LiveConnection) }),
		},
	},
	events: {},
	channels: {},
});
