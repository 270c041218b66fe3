/**
 * A consumer in a process of its own, for the contract test that kills one mid-batch (SIGKILL: no
 * stop hook, no ack, no goodbye to the backend). The parent forks it with tsx and a JSON spec in
 * LOOTOPIA_CONSUMER_SPEC; it reports over IPC each message it received and each one its handler
 * finished. After `finishFirst` messages the handler never returns, so whatever it holds then is
 * exactly what the backend must redeliver to the rest of the group.
 */
import { ServiceBroker, type Context } from "moleculer";
import { createChannelsMiddleware, type ChannelsOptions } from "../../platform/channels";

export interface ConsumerProcessSpec {
	channels: ChannelsOptions;
	namespace: string;
	channel: string;
	group: string;
	finishFirst: number;
	channelOptions?: Record<string, unknown>;
}

export type ConsumerProcessReport = { kind: "ready" } | { kind: "received"; id: string } | { kind: "finished"; id: string };

const spec = JSON.parse(process.env.LOOTOPIA_CONSUMER_SPEC ?? "{}") as ConsumerProcessSpec;
const report = (message: ConsumerProcessReport) => process.send?.(message);
let finished = 0;

const broker = new ServiceBroker({
	nodeID: `doomed-${process.pid}`,
	namespace: spec.namespace,
	transporter: null,
	logger: false,
	middlewares: [createChannelsMiddleware(spec.channels)],
});
broker.createService({
	name: "doomed",
	channels: {
		[spec.channel]: {
			group: spec.group,
			...spec.channelOptions,
			async handler(ctx: Context<{ id: string }>) {
				report({ kind: "received", id: ctx.params.id });
				if (finished >= spec.finishFirst) await new Promise(() => undefined);
				finished++;
				report({ kind: "finished", id: ctx.params.id });
			},
		},
	},
} as never);
broker.start().then(
	() => report({ kind: "ready" }),
	err => {
		console.error(err);
		process.exit(1);
	},
);
