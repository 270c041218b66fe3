/**
 * The library's Redis, NATS and Kafka adapters with the gaps that lose or miss messages closed:
 * - a publish while the adapter stops resolves without sending anything: it now throws, so the
 *   caller (or its outbox) knows the message did not go;
 * - NATS refuses a publish to a channel nobody has subscribed to yet (no stream: 503), and kafkajs
 *   gives up on a subscribe to a topic that does not exist yet instead of waiting for the broker to
 *   create it: the stream or topic is created (idempotently) before the first publish or subscribe;
 * - a Kafka group subscribing for the first time starts at the end of the topic, so it never sees
 *   the retained backlog the other adapters give it: `fromBeginning` defaults to true (a group with
 *   committed offsets resumes from them either way);
 * - a failed Kafka dead-letter publish is only logged before the offset is committed: it now throws,
 *   so kafkajs re-reads the message from the last committed offset instead of dropping it.
 */
import { Adapters } from "@moleculer/channels";
import { HEADER_ORIGINAL_CHANNEL, HEADER_ORIGINAL_GROUP, type ChannelAdapter } from "./sql-adapter";

/** The library's header names and metric, which it does not export. */
const HEADER_GROUP = "x-group";
const HEADER_ORIGINAL_PARTITION = "x-original-partition";
const METRIC_DEAD_LETTERED = "moleculer.channels.messages.deadLettering.total";

/** What every library adapter has and these classes use. */
interface LibraryAdapter extends ChannelAdapter {
	stopping: boolean;
	connect(): Promise<void>;
	publish(channelName: string, payload: unknown, opts?: Record<string, unknown>): Promise<void>;
}

type LibraryAdapterClass<T> = new (opts: object) => T;
const Library = Adapters as unknown as {
	Redis: LibraryAdapterClass<LibraryAdapter>;
	NATS: LibraryAdapterClass<LibraryNatsAdapter>;
	Kafka: LibraryAdapterClass<LibraryKafkaAdapter>;
};

function refuseWhileStopping(adapter: LibraryAdapter, channelName: string): void {
	if (adapter.stopping) throw new Error(`The channel adapter is stopping: the message to '${channelName}' was not sent`);
}

/** Runs `create` once per key and process; a failed attempt is forgotten so the next call tries again. */
function once(known: Map<string, Promise<void>>, key: string, create: () => Promise<unknown>): Promise<void> {
	let pending = known.get(key);
	if (!pending) {
		pending = create().then(() => undefined);
		known.set(key, pending);
		pending.catch(() => known.delete(key));
	}
	return pending;
}

export class RedisChannelAdapter extends Library.Redis {
	/** The library sets `stopping` on disconnect and never clears it; a broker started again must send. */
	override async connect(): Promise<void> {
		this.stopping = false;
		return super.connect();
	}

	override async publish(channelName: string, payload: unknown, opts: Record<string, unknown> = {}): Promise<void> {
		refuseWhileStopping(this, channelName);
		return super.publish(channelName, payload, opts);
	}
}

interface LibraryNatsAdapter extends LibraryAdapter {
	manager: { streams: { info(name: string): Promise<unknown> } } | null;
	createStream(streamName: string, subjects: string[], streamOpts: object): Promise<unknown>;
}

export class NatsChannelAdapter extends Library.NATS {
	private readonly knownStreams = new Map<string, Promise<void>>();

	override async connect(): Promise<void> {
		this.stopping = false;
		return super.connect();
	}

	override async publish(channelName: string, payload: unknown, opts: Record<string, unknown> = {}): Promise<void> {
		refuseWhileStopping(this, channelName);
		await once(this.knownStreams, channelName, () => this.ensureStream(channelName));
		return super.publish(channelName, payload, opts);
	}

	/**
	 * Named as the library's subscribe names it, so both find the same stream. The library's
	 * createStream logs and swallows its failures, so the stream is looked up again afterwards. A
	 * stream made here has the default config: a channel with a `nats.streamConfig` of its own must be
	 * subscribed before anything is sent to it.
	 */
	private async ensureStream(channelName: string): Promise<void> {
		const streamName = channelName.split(".").join("_");
		if (!this.manager) throw new Error("NATS channel adapter is not connected");
		const exists = () =>
			this.manager!.streams.info(streamName).then(
				() => true,
				() => false,
			);
		if (await exists()) return;
		await this.createStream(streamName, [channelName], {});
		if (!(await exists())) throw new Error(`NATS stream ${streamName} for '${channelName}' could not be created (see the log)`);
	}
}

interface KafkaAdmin {
	connect(): Promise<void>;
	disconnect(): Promise<void>;
	listTopics(): Promise<string[]>;
	createTopics(request: { topics: Array<{ topic: string }>; waitForLeaders?: boolean }): Promise<boolean>;
}

interface LibraryKafkaAdapter extends LibraryAdapter {
	client: { admin(): KafkaAdmin } | null;
	subscribe(chan: KafkaChannel): Promise<void>;
	moveToDeadLetter(chan: KafkaChannel, delivery: KafkaDelivery): Promise<void>;
	metricsIncrement(metric: string, chan: KafkaChannel): void;
}

interface KafkaChannel {
	name: string;
	group: string;
	kafka?: { fromBeginning?: boolean; [option: string]: unknown };
	deadLettering?: { enabled?: boolean; queueName?: string };
}

interface KafkaDelivery {
	partition: number;
	message: { key: Buffer | null; value: Buffer | null; headers?: Record<string, unknown> };
}

export class KafkaChannelAdapter extends Library.Kafka {
	private readonly knownTopics = new Map<string, Promise<void>>();

	override async subscribe(chan: KafkaChannel): Promise<void> {
		chan.kafka = { fromBeginning: true, ...chan.kafka };
		await this.ensureTopic(chan.name);
		return super.subscribe(chan);
	}

	override async publish(channelName: string, payload: unknown, opts: Record<string, unknown> = {}): Promise<void> {
		refuseWhileStopping(this, channelName);
		await this.ensureTopic(channelName);
		return super.publish(channelName, payload, opts);
	}

	/** The library's version with its catch-and-log removed: a failure must stop the offset commit. */
	override async moveToDeadLetter(chan: KafkaChannel, { partition, message }: KafkaDelivery): Promise<void> {
		const headers: Record<string, unknown> = {
			...message.headers,
			[HEADER_ORIGINAL_CHANNEL]: chan.name,
			[HEADER_ORIGINAL_GROUP]: chan.group,
			[HEADER_ORIGINAL_PARTITION]: String(partition),
		};
		// The redelivery copy was addressed to the failing group; the dead letter is for everyone.
		delete headers[HEADER_GROUP];
		await this.publish(chan.deadLettering!.queueName!, message.value, { raw: true, key: message.key, headers });
		this.metricsIncrement(METRIC_DEAD_LETTERED, chan);
		this.logger.warn(`Moved message to '${chan.deadLettering!.queueName}'`);
	}

	private ensureTopic(topic: string): Promise<void> {
		return once(this.knownTopics, topic, () => this.createTopic(topic));
	}

	private async createTopic(topic: string): Promise<void> {
		if (!this.client) throw new Error("Kafka channel adapter is not connected");
		const admin = this.client.admin();
		await admin.connect();
		try {
			// Looked up first: where topics are made by operators, the app may lack the right to create.
			if ((await admin.listTopics()).includes(topic)) return;
			// false when another node made it meanwhile: fine.
			await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
		} finally {
			await admin.disconnect();
		}
	}
}
