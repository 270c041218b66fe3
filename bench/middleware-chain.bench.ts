/**
 * What each broker middleware costs per call, in-process: a trivial local action called through our
 * production middleware chain (platform/moleculer/middlewares.ts, broker options as in production),
 * against the same chain with one middleware left out, with tracing sampled at 1 %, and with
 * Moleculer's own versions of the middlewares we replaced. No HTTP and no load generator, so the
 * differences are the middlewares' alone; CPU time of this process over `calls` sequential calls,
 * alternating variants round after round, median of the rounds.
 */
import * as Moleculer from "moleculer";
import { ServiceBroker, type BrokerOptions, type Middleware } from "moleculer";
import { internalMiddlewares } from "../platform/moleculer/middlewares";
import { stockMiddleware } from "../platform/moleculer/stock-middleware";
import { isInfrastructureFailure } from "../platform/moleculer/breaker-policy";
import { median } from "./support";

type Entry = ReturnType<typeof internalMiddlewares>[number];
type Factory = (broker: ServiceBroker) => Middleware & { name?: string };

/** Ours that stand in for Moleculer's middleware of the same name. */
const REPLACED = new Set(["Metrics", "Timeout", "Tracing", "ContextTracker", "Bulkhead"]);

/** The production list, each entry passed through `choose` once the broker has made it. */
function chain(choose: (made: Middleware & { name?: string }, broker: ServiceBroker) => Middleware | null): BrokerOptions["middlewares"] {
	return internalMiddlewares().map((entry: Entry) => (broker: ServiceBroker) => {
		const made = typeof entry === "string" ? stockMiddleware(entry, broker) : typeof entry === "function" ? (entry as Factory)(broker) : (entry as Middleware & { name?: string });
		return choose(made, broker) ?? { name: "left out" };
	}) as BrokerOptions["middlewares"];
}

interface Variant {
	name: string;
	middlewares: BrokerOptions["middlewares"];
	tracingRate?: number;
}

function variants(): Variant[] {
	const list: Variant[] = [
		{ name: "production chain", middlewares: chain(made => made) },
		{ name: "tracing sampled at 1 %", middlewares: chain(made => made), tracingRate: 0.01 },
		{
			name: "Moleculer's Metrics, Timeout, Tracing, ContextTracker, Bulkhead instead of ours",
			middlewares: chain((made, broker) => (made.name && REPLACED.has(made.name) ? stockMiddleware(made.name, broker) : made)),
		},
		{
			name: "the same, tracing sampled at 1 %",
			middlewares: chain((made, broker) => (made.name && REPLACED.has(made.name) ? stockMiddleware(made.name, broker) : made)),
			tracingRate: 0.01,
		},
	];
	for (const left of ["Metrics", "Timeout", "ContextTracker", "Bulkhead", "CircuitBreaker", "Retry", "Validator", "Authorization", "InputGuard", "ErrorHandler"]) {
		list.push({ name: `without ${left}`, middlewares: chain(made => (made.name === left ? null : made)) });
	}
	return list;
}

function brokerFor(variant: Variant): ServiceBroker {
	const broker = new ServiceBroker({
		logger: false,
		skipProcessEventRegistration: true,
		requestTimeout: 10_000,
		retryPolicy: { enabled: true, retries: 2, delay: 100, maxDelay: 1000, factor: 2, check: (err: Error) => Boolean((err as { retryable?: boolean }).retryable) },
		circuitBreaker: { enabled: true, threshold: 0.5, minRequestCount: 20, windowTime: 60, halfOpenTime: 10_000, check: isInfrastructureFailure },
		bulkhead: { enabled: true, concurrency: 100, maxQueueSize: 1000 },
		tracking: { enabled: true, shutdownTimeout: 5000 },
		validator: true,
		cacher: { type: "MemoryLRU", options: { max: 1000 } },
		metrics: { enabled: true, reporter: [], defaultQuantiles: null as unknown as number[] },
		tracing: variant.tracingRate === undefined ? { enabled: false } : { enabled: true, sampling: { rate: variant.tracingRate }, exporter: [{ type: "Event" }] },
		internalMiddlewares: false,
		middlewares: variant.middlewares,
	});
	broker.createService({
		name: "bench",
		actions: {
			noop: {
				access: "public",
				params: { n: "number" },
				handler: (ctx: Moleculer.Context<{ n: number }>) => ctx.params.n,
			},
		},
	} as never);
	return broker;
}

export interface MiddlewareCost {
	name: string;
	microsPerCall: number;
	/** Production's µs per call minus this variant's: what the left-out middleware costs (negative: what the variant adds). */
	marginalMicros?: number;
}

export async function benchMiddlewareChain(opts: { calls?: number; rounds?: number } = {}): Promise<{ calls: number; rounds: number; variants: MiddlewareCost[] }> {
	const calls = opts.calls ?? 50_000;
	const rounds = opts.rounds ?? 5;
	const list = variants();
	const brokers = list.map(brokerFor);
	await Promise.all(brokers.map(broker => broker.start()));
	try {
		const run = async (broker: ServiceBroker, count: number) => {
			const before = process.cpuUsage();
			for (let i = 0; i < count; i++) await broker.call("bench.noop", { n: i });
			const used = process.cpuUsage(before);
			return (used.user + used.system) / count;
		};
		for (const broker of brokers) await run(broker, calls / 5);
		const samples = list.map(() => [] as number[]);
		for (let round = 0; round < rounds; round++) for (const [i, broker] of brokers.entries()) samples[i].push(await run(broker, calls));
		const micros = samples.map(values => Math.round(median(values) * 100) / 100);
		return {
			calls,
			rounds,
			variants: list.map((variant, i) => ({ name: variant.name, microsPerCall: micros[i], ...(i > 0 ? { marginalMicros: Math.round((micros[0] - micros[i]) * 100) / 100 } : {}) })),
		};
	} finally {
		await Promise.all(brokers.map(broker => broker.stop()));
	}
}
