/**
 * Moleculer's request metrics, counted cheaply. Its Metrics middleware updates five registry series
 * on every call, each time hashing the labels into a string key, walking every histogram bucket and
 * updating rate trackers: on a trivial request that was more than the action itself. This one counts
 * each (service, action, type, caller) in plain numbers and bucket counts of its own and publishes
 * them to the same registry series, with the same labels, once a second (and when the broker stops),
 * so Prometheus scrapes what it always did, at most a second old. Everything else Moleculer's
 * middleware does (registering the series, event, transit and transporter metrics) is kept.
 */
import * as Moleculer from "moleculer";
import type { Context, Middleware, ServiceBroker } from "moleculer";
import { stockMiddleware } from "./stock-middleware";

const { METRIC } = Moleculer;
export const METRICS_PUBLISH_INTERVAL_MS = 1000;

/** Middleware hooks that run `publish` once a second while the broker runs, and once more as it stops. */
export function publishedEverySecond(broker: ServiceBroker, publish: () => void): { started(): void; stopped(): void } {
	let timer: NodeJS.Timeout | undefined;
	return {
		started() {
			if (broker.isMetricsEnabled()) timer = setInterval(publish, METRICS_PUBLISH_INTERVAL_MS).unref();
		},
		stopped() {
			if (timer) clearInterval(timer);
			timer = undefined;
			if (broker.isMetricsEnabled()) publish();
		},
	};
}

interface RequestLabels {
	service: string | null;
	action: string;
	type: "local" | "remote";
	caller: string | null;
}

interface HistogramItem {
	count: number;
	sum: number;
	lastValue: number | null;
	timestamp: number;
	bucketValues: Record<number, number>;
	rate?: { update(value: number): void };
}

interface RegistryHistogram {
	buckets?: number[];
	values: Map<string, HistogramItem>;
	hashingLabels(labels: object): string;
	resetItem(item: { labels: object }, timestamp: number | null): HistogramItem;
	changed(): void;
}

/** One series' counts since the last publication. */
class RequestSeries {
	total = 0;
	active = 0;
	/** NaN until first published, so the series appears (at 0) like Moleculer's. */
	activePublished = Number.NaN;
	timeCount = 0;
	timeSum = 0;
	lastTime: number | null = null;
	/** Observations per bucket (not cumulative); the last slot is above every bound. */
	readonly perBucket: Float64Array;
	readonly errors = new Map<string, { labels: Record<string, unknown>; count: number }>();
	readonly levels = new Map<number, number>();

	constructor(
		readonly labels: RequestLabels,
		private readonly bounds: readonly number[],
	) {
		this.perBucket = new Float64Array(bounds.length + 1);
	}

	observe(ms: number): void {
		this.timeCount++;
		this.timeSum += ms;
		this.lastTime = ms;
		const bounds = this.bounds;
		let i = 0;
		while (i < bounds.length && ms > bounds[i]) i++;
		this.perBucket[i]++;
	}

	failed(err: unknown): void {
		const e = (err ?? {}) as { name?: unknown; code?: unknown; type?: unknown };
		// Typed, as the registry's label hash is: code 500 and code "500" are two series.
		const key = JSON.stringify([e.name ?? null, e.code ?? null, e.type ?? null]);
		const known = this.errors.get(key);
		if (known) known.count++;
		else this.errors.set(key, { labels: { ...this.labels, errorName: e.name ?? null, errorCode: e.code ?? null, errorType: e.type ?? null }, count: 1 });
	}
}

export function AggregatedMetricsMiddleware(broker: ServiceBroker): Middleware {
	const stock = stockMiddleware("Metrics", broker);
	const metrics = broker.metrics;
	const series = new Set<RequestSeries>();

	function bucketBounds(): number[] {
		const histogram = metrics.getMetric(METRIC.MOLECULER_REQUEST_TIME) as unknown as RegistryHistogram | null;
		return histogram?.buckets ?? [];
	}

	function publishHistogram(entry: RequestSeries, now: number): void {
		const histogram = metrics.getMetric(METRIC.MOLECULER_REQUEST_TIME) as unknown as RegistryHistogram | null;
		if (!histogram) return;
		const key = histogram.hashingLabels(entry.labels);
		let item = histogram.values.get(key);
		if (!item) {
			item = histogram.resetItem({ labels: { ...entry.labels } }, null);
			histogram.values.set(key, item);
		}
		item.count += entry.timeCount;
		item.sum += entry.timeSum;
		item.lastValue = entry.lastTime;
		item.timestamp = now;
		// The registry's buckets are cumulative: each counts every observation at or below its bound.
		const bounds = histogram.buckets ?? [];
		let cumulative = 0;
		for (let i = 0; i < bounds.length; i++) {
			cumulative += entry.perBucket[i];
			if (cumulative) item.bucketValues[bounds[i]] += cumulative;
		}
		item.rate?.update(item.count);
		histogram.changed();
	}

	function publish(): void {
		const now = Date.now();
		const levels = new Map<number, number>();
		for (const entry of series) {
			if (entry.total) metrics.increment(METRIC.MOLECULER_REQUEST_TOTAL, entry.labels, entry.total, now);
			if (entry.active !== entry.activePublished) {
				metrics.set(METRIC.MOLECULER_REQUEST_ACTIVE, entry.active, entry.labels, now);
				entry.activePublished = entry.active;
			}
			if (entry.timeCount) publishHistogram(entry, now);
			for (const { labels, count } of entry.errors.values()) metrics.increment(METRIC.MOLECULER_REQUEST_ERROR_TOTAL, labels, count, now);
			for (const [level, count] of entry.levels) levels.set(level, (levels.get(level) ?? 0) + count);
			entry.total = entry.timeCount = entry.timeSum = 0;
			entry.perBucket.fill(0);
			entry.errors.clear();
			entry.levels.clear();
		}
		for (const [level, count] of levels) metrics.increment(METRIC.MOLECULER_REQUEST_LEVELS, { level }, count, now);
	}

	function wrap(type: RequestLabels["type"]) {
		return function wrapAction(next: (ctx: Context) => Promise<unknown>, action: { name: string; service?: { fullName: string } }) {
			if (!broker.isMetricsEnabled()) return next;
			const service = action.service ? action.service.fullName : null;
			const byCaller = new Map<string | null, RequestSeries>();
			const seriesOf = (caller: string | null) => {
				let entry = byCaller.get(caller);
				if (!entry) {
					entry = new RequestSeries({ service, action: action.name, type, caller }, bucketBounds());
					byCaller.set(caller, entry);
					series.add(entry);
				}
				return entry;
			};
			return function countedAction(ctx: Context): Promise<unknown> {
				const entry = seriesOf(ctx.caller);
				entry.total++;
				entry.active++;
				entry.levels.set(ctx.level, (entry.levels.get(ctx.level) ?? 0) + 1);
				const started = performance.now();
				return next(ctx).then(
					result => {
						entry.observe(performance.now() - started);
						entry.active--;
						return result;
					},
					err => {
						entry.observe(performance.now() - started);
						entry.active--;
						entry.failed(err);
						throw err;
					},
				);
			};
		};
	}

	return {
		...stock,
		localAction: wrap("local"),
		remoteAction: wrap("remote"),
		...publishedEverySecond(broker, publish),
	} as unknown as Middleware;
}
