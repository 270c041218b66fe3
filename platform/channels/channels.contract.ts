/**
 * What a service may rely on from durable channels whatever CHANNELS_URL says, as jest tests.
 * channels.spec.ts runs it against the embedded SQL adapter (PGlite and PostgreSQL), Redis Streams,
 * NATS JetStream and Kafka. Every test starts real ServiceBrokers with the channels middleware made
 * by createChannelsMiddleware (as in production), uses channel and group names of its own, and
 * stops its brokers even when it fails. Expected values are written out, never derived from the
 * adapter under test.
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { ServiceBroker, type Context, type ServiceSchema } from "moleculer";
import type { ConsumerProcessReport, ConsumerProcessSpec } from "../../test/support/channel-consumer-process";
import { channelAdapterOf, createChannelsMiddleware, sendToChannel, type ChannelsOptions } from "./index";

export interface ChannelsContractSetup {
	/** What createChannelsMiddleware gets; each broker of a test makes its own middleware and adapter. */
	channels: ChannelsOptions;
	/**
	 * Broker namespace, which every adapter puts in front of channel names: unique per run, so runs
	 * sharing a server never meet and the spec's cleanup finds exactly this run's streams and keys.
	 */
	namespace: string;
	/** Messages sent at once (Promise.all) in the burst test. */
	burstSize: number;
	/** Merged into the always-failing consumer's channel definition (e.g. Redis claim timings). */
	failingChannelOptions?: Record<string, unknown>;
	/**
	 * The handler of an always-failing message runs exactly maxRetries times. Redis Streams moves a
	 * message to the dead-letter stream from a separate timer, so one more claim may slip in first.
	 */
	exactDeliveryCount?: boolean;
	/** False where one group's consumers share partitions, not messages (Kafka with a one-partition topic). */
	balancesWithinGroup?: boolean;
	/** How long deliveries may take in the ordinary tests (default 20 s). */
	deliveryTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));
const shortId = () => randomUUID().replace(/-/g, "").slice(0, 10);

/** Polls `done` until it holds; on timeout, fails with `describe()` so the message shows what was missing. */
async function waitFor(done: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!done()) {
		if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms: ${describe()}`);
		await sleep(20);
	}
}

interface Message {
	id: string;
	seq?: number;
}

/** After everything expected arrived, stay a little longer so a duplicate or stray delivery shows up. */
const SETTLE_MS = 500;

function duplicatesOf(ids: string[]): string[] {
	const seen = new Set<string>();
	return ids.filter(id => (seen.has(id) ? true : (seen.add(id), false)));
}

/**
 * Brokers a test started: each with the channels middleware under test, all stopped (latest first,
 * so consumers go before producers) by `stopAll`, even after a failed test.
 */
export class TestBrokers {
	private started: ServiceBroker[] = [];

	async start(role: string, namespace: string, channels: ChannelsOptions, services: ServiceSchema[] = []): Promise<ServiceBroker> {
		const broker = new ServiceBroker({
			nodeID: `${role}-${shortId()}`,
			namespace,
			transporter: null,
			logger: { type: "Console", options: { level: (process.env.TEST_CHANNELS_LOG_LEVEL ?? "error") as "error" } },
			registry: { stopDelay: 0 },
			middlewares: [createChannelsMiddleware(channels)],
		});
		for (const schema of services) broker.createService(schema);
		this.started.push(broker);
		await broker.start();
		return broker;
	}

	/** Stops one broker now (its consumers go down) and forgets it. */
	async stop(broker: ServiceBroker): Promise<void> {
		this.started = this.started.filter(b => b !== broker);
		await broker.stop();
	}

	async stopAll(): Promise<void> {
		const started = this.started.reverse();
		this.started = [];
		for (const broker of started) await broker.stop().catch(() => undefined);
	}
}

/**
 * How quickly the backend gives up on a consumer that died holding messages (lease, idle time,
 * session timeout), for the test that kills one; production keeps the adapters' longer defaults.
 * A reason instead where a second process cannot share the backend (a PGlite folder).
 */
export type KilledConsumerTraits = { notApplicable: string } | { adapterOptions?: Record<string, unknown>; channelOptions?: Record<string, unknown> };

/** A consumer in another process, to be SIGKILLed: what it received and what its handler finished. */
interface ConsumerProcess {
	child: ChildProcess;
	received: string[];
	finished: string[];
	exited: Promise<void>;
}

async function startConsumerProcess(spec: ConsumerProcessSpec): Promise<ConsumerProcess> {
	const child = fork(path.join(__dirname, "../../test/support/channel-consumer-process.ts"), [], {
		execArgv: ["--import", "tsx"],
		env: { ...process.env, LOOTOPIA_CONSUMER_SPEC: JSON.stringify(spec) },
		stdio: ["ignore", "inherit", "inherit", "ipc"],
	});
	const consumer: ConsumerProcess = { child, received: [], finished: [], exited: new Promise(resolve => child.once("exit", () => resolve())) };
	let timer: NodeJS.Timeout | undefined;
	try {
		await new Promise<void>((resolve, reject) => {
			child.on("message", (message: ConsumerProcessReport) => {
				if (message.kind === "ready") resolve();
				else consumer[message.kind].push(message.id);
			});
			child.once("exit", code => reject(new Error(`consumer process exited with ${code} before it was ready`)));
			timer = setTimeout(() => reject(new Error("consumer process not ready within 60 s")), 60_000);
		});
	} catch (err) {
		child.kill("SIGKILL");
		throw err;
	} finally {
		clearTimeout(timer);
	}
	return consumer;
}

export function channelsContract(name: string, makeOptions: () => ChannelsContractSetup, killedConsumer: KilledConsumerTraits): void {
	describe(`channels contract: ${name}`, () => {
		const brokers = new TestBrokers();
		let setup: ChannelsContractSetup;

		beforeEach(() => {
			setup = makeOptions();
		});

		afterEach(() => brokers.stopAll());

		const startBroker = (role: string, services: ServiceSchema[] = []) => brokers.start(role, setup.namespace, setup.channels, services);
		const stopBroker = (broker: ServiceBroker) => brokers.stop(broker);

		function recorder(serviceName: string, channel: string, group: string, received: string[], extra: Record<string, unknown> = {}): ServiceSchema {
			return {
				name: serviceName,
				channels: {
					[channel]: {
						group,
						...extra,
						handler(ctx: Context<Message>) {
							received.push(ctx.params.id);
						},
					},
				},
			};
		}

		const timeout = () => setup.deliveryTimeoutMs ?? 20_000;

		it("delivers every message once to each consumer group", async () => {
			const channel = `orders-${shortId()}`;
			const ledger: string[] = [];
			const inbox: string[] = [];
			await startBroker("consumer", [recorder("ledger", channel, `ledger-${shortId()}`, ledger), recorder("inbox", channel, `inbox-${shortId()}`, inbox)]);
			const publisher = await startBroker("publisher");

			const ids = Array.from({ length: 50 }, (_, i) => `m${String(i).padStart(2, "0")}`);
			await Promise.all(ids.map(id => sendToChannel(publisher, channel, { id })));

			await waitFor(
				() => ledger.length >= 50 && inbox.length >= 50,
				timeout(),
				() => `ledger got ${ledger.length}/50, inbox ${inbox.length}/50`,
			);
			await sleep(SETTLE_MS);
			expect([...ledger].sort()).toEqual(ids);
			expect([...inbox].sort()).toEqual(ids);
		});

		it("propagates the sender's context (meta, request id) to the handler", async () => {
			const channel = `audit-${shortId()}`;
			const seen: Array<{ id: string; requestID: string | null; meta: unknown }> = [];
			await startBroker("consumer", [
				{
					name: "auditor",
					channels: {
						[channel]: {
							group: `auditor-${shortId()}`,
							handler(ctx: Context<Message, { userId?: string }>) {
								seen.push({ id: ctx.params.id, requestID: ctx.requestID, meta: ctx.meta });
							},
						},
					},
				},
			]);
			const publisher = await startBroker("publisher", [
				{
					name: "hunts",
					actions: {
						publish(ctx: Context<Message>) {
							return sendToChannel(ctx.broker, channel, { id: ctx.params.id }, { ctx });
						},
					},
				},
			]);
			await publisher.call("hunts.publish", { id: "h1" }, { meta: { userId: "player-42" }, requestID: "req-0001" });

			await waitFor(
				() => seen.length >= 1,
				timeout(),
				() => "the message never arrived",
			);
			expect(seen).toEqual([{ id: "h1", requestID: "req-0001", meta: { userId: "player-42" } }]);
		});

		it("shares the work of one group between its consumers, without duplicates", async () => {
			const channel = `jobs-${shortId()}`;
			const group = `workers-${shortId()}`;
			const byNode: Record<"a" | "b", string[]> = { a: [], b: [] };
			const worker = (node: "a" | "b"): ServiceSchema => ({
				name: "worker",
				channels: {
					[channel]: {
						group,
						maxInFlight: 4,
						async handler(ctx: Context<Message>) {
							// Long enough that one consumer cannot drain the queue before the other reads.
							await sleep(5);
							byNode[node].push(ctx.params.id);
						},
					},
				},
			});
			await startBroker("worker-a", [worker("a")]);
			await startBroker("worker-b", [worker("b")]);
			const publisher = await startBroker("publisher");

			const ids = Array.from({ length: 200 }, (_, i) => `j${String(i).padStart(3, "0")}`);
			await Promise.all(ids.map(id => sendToChannel(publisher, channel, { id })));

			const total = () => byNode.a.length + byNode.b.length;
			await waitFor(
				() => total() >= 200,
				timeout(),
				() => `got ${total()}/200 (a ${byNode.a.length}, b ${byNode.b.length})`,
			);
			await sleep(SETTLE_MS);
			const all = [...byNode.a, ...byNode.b];
			expect(duplicatesOf(all)).toEqual([]);
			expect(all.sort()).toEqual(ids);
			if (setup.balancesWithinGroup !== false) {
				expect(byNode.a.length).toBeGreaterThan(0);
				expect(byNode.b.length).toBeGreaterThan(0);
			}
		});

		it("retries a failing handler, then moves the message to the dead-letter channel", async () => {
			const channel = `payments-${shortId()}`;
			const group = `payments-${shortId()}`;
			const deadLetter = `dead-${shortId()}`;
			const maxRetries = 3;
			const attempts: string[] = [];
			const buried: Array<{ payload: unknown; headers: Record<string, string> | null }> = [];
			const consumer = await startBroker("consumer", [
				{
					name: "payments",
					channels: {
						[channel]: {
							group,
							maxRetries,
							deadLettering: { enabled: true, queueName: deadLetter },
							...setup.failingChannelOptions,
							handler(ctx: Context<Message>) {
								attempts.push(ctx.params.id);
								throw new Error("card processor unavailable");
							},
						},
					},
				},
				{
					name: "morgue",
					channels: {
						[deadLetter]: {
							group: `morgue-${shortId()}`,
							handler(ctx: Context<Message>, raw: unknown) {
								buried.push({ payload: ctx.params, headers: channelAdapterOf(ctx.broker)!.parseMessageHeaders(raw) });
							},
						},
					},
				},
			]);
			await sendToChannel(consumer, channel, { id: "charge-1", seq: 7 });

			await waitFor(
				() => buried.length >= 1,
				Math.max(timeout(), 30_000),
				() => `not dead-lettered; handler ran ${attempts.length} time(s)`,
			);
			await sleep(SETTLE_MS);
			expect(buried).toHaveLength(1);
			expect(buried[0].payload).toEqual({ id: "charge-1", seq: 7 });
			// Names as the adapters store them: with the namespace prefix.
			expect(buried[0].headers).toMatchObject({ "x-original-channel": `${setup.namespace}.${channel}`, "x-original-group": group });
			if (setup.exactDeliveryCount === false) {
				expect(attempts.length).toBeGreaterThanOrEqual(maxRetries);
				expect(attempts.length).toBeLessThanOrEqual(maxRetries + 1);
			} else {
				expect(attempts).toEqual(["charge-1", "charge-1", "charge-1"]);
			}
		});

		it("loses nothing in a burst of concurrent sends", async () => {
			const channel = `positions-${shortId()}`;
			const n = setup.burstSize;
			const received: string[] = [];
			await startBroker("consumer", [recorder("tracker", channel, `tracker-${shortId()}`, received, { maxInFlight: 100 })]);
			const publisher = await startBroker("publisher");

			const ids = Array.from({ length: n }, (_, i) => `p${String(i).padStart(6, "0")}`);
			const start = performance.now();
			await Promise.all(ids.map(id => sendToChannel(publisher, channel, { id })));
			const published = performance.now();
			// Seconds in practice (see the printed rates); a lost message shows as a timeout with the count.
			await waitFor(
				() => received.length >= n,
				Math.max(60_000, timeout()),
				() => `received ${received.length}/${n}`,
			);
			const consumed = performance.now();

			const rate = (count: number, ms: number) => Math.round((count * 1000) / ms);
			console.info(
				`[channels burst] ${name}: ${n} messages; all sends resolved in ${Math.round(published - start)} ms (${rate(n, published - start)} msg/s); ` +
					`all delivered after ${Math.round(consumed - start)} ms (${rate(n, consumed - start)} msg/s end to end)`,
			);
			await sleep(SETTLE_MS);
			expect(duplicatesOf(received)).toEqual([]);
			expect(received.length).toBe(n);
			expect(new Set(received)).toEqual(new Set(ids));
		}, 180_000);

		it("gives a group seen for the first time the channel's retained messages", async () => {
			const channel = `history-${shortId()}`;
			const publisher = await startBroker("publisher");
			const ids = Array.from({ length: 20 }, (_, i) => `h${String(i).padStart(2, "0")}`);
			// Nobody has ever consumed this channel.
			for (const id of ids) await sendToChannel(publisher, channel, { id });

			const first: string[] = [];
			await startBroker("first", [recorder("first", channel, `first-${shortId()}`, first)]);
			await waitFor(
				() => first.length >= 20,
				timeout(),
				() => `first group got ${first.length}/20`,
			);

			// Already acknowledged by the first group, still retained: a second group starts with them too.
			const second: string[] = [];
			await startBroker("second", [recorder("second", channel, `second-${shortId()}`, second)]);
			await waitFor(
				() => second.length >= 20,
				timeout(),
				() => `second group got ${second.length}/20`,
			);
			await sleep(SETTLE_MS);
			expect([...first].sort()).toEqual(ids);
			expect([...second].sort()).toEqual(ids);
		});

		const killTitle = "redelivers what a consumer killed mid-batch was holding to the rest of its group";
		const killTest = async (options: Exclude<KilledConsumerTraits, { notApplicable: string }>) => {
			const channel = `captures-${shortId()}`;
			const group = `captures-${shortId()}`;
			const channels = { ...setup.channels, adapterOptions: { ...setup.channels.adapterOptions, ...options.adapterOptions } };
			const doomed = await startConsumerProcess({ channels, namespace: setup.namespace, channel, group, finishFirst: 5, channelOptions: options.channelOptions });
			try {
				const publisher = await startBroker("publisher");
				const ids = Array.from({ length: 40 }, (_, i) => `c${String(i).padStart(2, "0")}`);
				await Promise.all(ids.map(id => sendToChannel(publisher, channel, { id })));
				// Five handled, at least one more in the handler's hands: then the process dies.
				await waitFor(
					() => doomed.received.length >= 6,
					timeout(),
					() => `the doomed consumer received ${doomed.received.length}/6`,
				);
				doomed.child.kill("SIGKILL");
				await doomed.exited;
				const held = doomed.received.filter(id => !doomed.finished.includes(id));
				expect(doomed.finished).toHaveLength(5);
				expect(held.length).toBeGreaterThan(0);

				const survivor: string[] = [];
				await startBroker("survivor", [recorder("captures", channel, group, survivor, options.channelOptions)]);
				const covered = () => ids.filter(id => doomed.finished.includes(id) || survivor.includes(id));
				await waitFor(
					() => covered().length === ids.length,
					Math.max(timeout(), 60_000),
					() => `${covered().length}/40 handled; still missing ${ids.filter(id => !covered().includes(id)).join(", ")}`,
				);
				await sleep(SETTLE_MS);
				expect(held.filter(id => !survivor.includes(id))).toEqual([]);
				expect(covered()).toEqual(ids);
			} finally {
				doomed.child.kill("SIGKILL");
			}
		};
		if ("notApplicable" in killedConsumer) it.skip(`${killTitle} [does not apply: ${killedConsumer.notApplicable}]`, () => undefined);
		else it(killTitle, () => killTest(killedConsumer), 120_000);

		it("keeps messages published while a group's consumers are stopped, and delivers them on restart", async () => {
			const channel = `rewards-${shortId()}`;
			const group = `rewards-${shortId()}`;
			const before: string[] = [];
			const after: string[] = [];
			// The first start makes the group known to the backend; then every consumer goes away.
			const first = await startBroker("consumer", [recorder("rewards", channel, group, before)]);
			await stopBroker(first);

			const publisher = await startBroker("publisher");
			const ids = Array.from({ length: 30 }, (_, i) => `r${String(i).padStart(2, "0")}`);
			await Promise.all(ids.map(id => sendToChannel(publisher, channel, { id })));
			await sleep(200);
			expect(before).toEqual([]);

			await startBroker("consumer", [recorder("rewards", channel, group, after)]);
			await waitFor(
				() => after.length >= 30,
				timeout(),
				() => `got ${after.length}/30 after the restart`,
			);
			await sleep(SETTLE_MS);
			expect(after.sort()).toEqual(ids);
		});
	});
}
