// Joins a Lootopia cluster as one more Moleculer node and reacts to its broker events.
// The three settings that must match the cluster: transporter, namespace and serializer.
import { ServiceBroker } from "moleculer";

const broker = new ServiceBroker({
	nodeID: process.env.NODE_ID ?? `welcome-mailer-${process.pid}`,
	transporter: process.env.TRANSPORTER ?? "nats://127.0.0.1:4222",
	namespace: process.env.NAMESPACE ?? "lootopia",
	serializer: "JSON",
	logLevel: "warn",
});

broker.createService({
	// The event group: with several copies of this subscriber running, each event reaches one of them.
	name: "welcome-mailer",
	events: {
		"user.registered"(ctx) {
			const { userId, displayName, at } = ctx.params;
			console.log(JSON.stringify({ event: ctx.eventName, userId, displayName, at }));
		},
		"partner.verified"(ctx) {
			console.log(JSON.stringify({ event: ctx.eventName, ...ctx.params }));
		},
	},
});

await broker.start();
console.log(JSON.stringify({ ready: broker.nodeID }));

for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => broker.stop().then(() => process.exit(0)));
