/**
 * Hunts near a point: the spatial index (domain/geo) over the key-value store, kept by the
 * hunts.changed channel and rebuilt from the hunts service's published hunts at start.
 */
import type { Logger, ServiceBroker } from "moleculer";
import { geoContract } from "../contracts/geo";
import { HUNTS_CHANNEL } from "../contracts/hunts";
import { HuntGeoIndex } from "../domain/geo/hunt-geo-index";
import { defineService } from "../platform/moleculer/define-service";
import { callAsService } from "../platform/moleculer/service-identity";
import { broadcast } from "../platform/moleculer/contract-calls";
import { AccessControlMixin } from "../mixins/access-control.mixin";
import type { ServiceDeps } from "./deps";

export function createGeoService({ backends }: ServiceDeps) {
	let index!: HuntGeoIndex;
	/** A node stopping while its rebuild still pages: the rebuild ends, it does not fail. */
	let stopping = false;

	/** The index as the hunts service lists its hunts now, a page at a time. */
	const rebuildIndex = async (broker: ServiceBroker, logger: Logger): Promise<void> => {
		try {
			await broker.waitForServices(["hunts"], 60_000);
			let cursor: string | undefined;
			let placed = 0;
			do {
				const page = await callAsService(broker, "geo", "hunts.listed", { ...(cursor ? { after: cursor } : {}), limit: 1000 });
				await Promise.all(page.items.map(hunt => index.place(hunt.huntId, hunt.area)));
				placed += page.items.length;
				cursor = page.next;
			} while (cursor && !stopping);
			if (stopping) return;
			logger.info(`Geo index rebuilt: ${placed} published public hunts`);
		} catch (err) {
			if (stopping) return;
			logger.error(`Could not rebuild the geo index from the hunts service: ${(err as Error).message}`);
		}
	};

	return defineService(geoContract, {
		mixins: [AccessControlMixin()],

		actions: {
			nearby: {
				// The hunts service's search asks; players go through GET /api/hunts.
				access: "service",
				async handler(ctx) {
					return { items: await index.nearby(ctx.params) };
				},
			},
		},

		channels: {
			[HUNTS_CHANNEL]: {
				group: "geo",
				// Applying a change twice is harmless, and an older one after a newer is ignored: no inbox needed.
				async handler(ctx) {
					// Searches cached before this change was in are wrong now: the hunts service drops them.
					if ((await index.apply(ctx.params)) === "applied") await broadcast(ctx.broker, "geo.hunts.moved", { huntId: ctx.params.huntId, at: ctx.params.at });
				},
			},
		},

		started() {
			stopping = false;
			index = new HuntGeoIndex(backends.keyValueStore());
		},

		stopped() {
			stopping = true;
		},

		events: {
			// After the whole start: the hunts service may be on this node, started after us.
			async "$broker.started"() {
				const rebuild = rebuildIndex(this.broker, this.logger);
				// Published on the service for the bench, which measures a node done rebuilding.
				Object.assign(this, { rebuilt: rebuild });
				await rebuild;
			},
		},
	});
}
