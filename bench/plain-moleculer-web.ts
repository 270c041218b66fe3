/**
 * A second baseline: moleculer-web with its defaults on a broker with Moleculer's defaults, routing
 * GET /api/ping to an action that answers what system.ping does. What the production gateway costs
 * above this is ours (features and how moleculer-web is used); what this costs above bare node:http
 * is moleculer-web's and Moleculer's own.
 */
import { ServiceBroker } from "moleculer";
import ApiGateway from "moleculer-web";

const broker = new ServiceBroker({ logger: false });
broker.createService({
	name: "system",
	settings: { rest: "/" },
	actions: { ping: { rest: "GET /ping", handler: () => ({ pong: true, serverTime: new Date().toISOString() }) } },
});
broker.createService({
	name: "api",
	mixins: [ApiGateway],
	settings: { port: Number(process.env.PORT ?? 3998), ip: "127.0.0.1", logRequest: null, logResponse: null, routes: [{ path: "/api", autoAliases: true }] },
});
void broker.start().then(() => process.send?.("listening"));
process.on("SIGTERM", () => void broker.stop().then(() => process.exit(0)));
