/**
 * Keeps the OpenSearch hunt index (hunt-text-index.ts) in step with the hunts table, which stays
 * the truth. Each change reads the hunt as it is now instead of trusting the message, so changes
 * applied twice or out of order still leave the index right; a start-up reconcile repairs whatever
 * was missed while OpenSearch was away.
 */
import { isListed, type HuntStore } from "./hunt-store";
import type { OpenSearchHuntIndex } from "./hunt-text-index";

const PAGE = 1000;

export class HuntTextMirror {
	constructor(
		private readonly hunts: HuntStore,
		private readonly index: Pick<OpenSearchHuntIndex, "put" | "remove" | "ids">,
	) {}

	/**
	 * The hunt changed: indexed if players may find it, dropped if not; searches see it once this
	 * returns, so whoever drops cached searches afterwards does not cache the old answer again.
	 */
	async follow(huntId: string): Promise<void> {
		const hunt = await this.hunts.get(huntId);
		if (hunt && isListed(hunt)) await this.index.put([{ ...hunt, publishedAt: hunt.publishedAt ?? hunt.updatedAt }], { searchable: true });
		else await this.index.remove([huntId], { searchable: true });
	}

	/**
	 * Every listed hunt indexed again, and every indexed hunt that is no longer listed dropped.
	 * `stopped` ends it early (the node is stopping). A hunt listed while this runs is indexed by
	 * follow(), and what is dropped is decided by the table as it is then, so it stays.
	 */
	async reconcile(stopped: () => boolean = () => false): Promise<{ indexed: number; removed: number }> {
		const listed = new Set<string>();
		let after: string | undefined;
		for (;;) {
			const page = await this.hunts.listed(after, PAGE);
			await this.index.put(page);
			for (const hunt of page) listed.add(hunt.id);
			if (page.length < PAGE || stopped()) break;
			after = page[page.length - 1].id;
		}
		let removed = 0;
		for await (const ids of this.index.ids(PAGE)) {
			if (stopped()) break;
			// Every indexed hunt is checked against the table now, not against the pages read above: a
			// hunt hidden (and dropped by follow()) after its page was read was put back by that page.
			const stillListed = new Set((await this.hunts.listedByIds(ids)).map(hunt => hunt.id));
			const gone = ids.filter(id => !stillListed.has(id));
			await this.index.remove(gone);
			removed += gone.length;
		}
		return { indexed: listed.size, removed };
	}
}
