/**
 * Answers asked for many times at once (a burst of claims on one reward each asking for the same
 * hunt's participations): concurrent asks for a key share the one request in flight, and with
 * `keepMs` the answer is kept that long after it came (until `forget`). With `keepMs` 0 nothing is
 * kept: an answer is never older than the request that made it, which was under way when the ask
 * came. A failed request is shared by those waiting for it, never kept.
 */
export class SharedAnswers<V> {
	private readonly answers = new Map<string, { answer: Promise<V>; settledAt?: number }>();

	constructor(
		private readonly load: (key: string) => Promise<V>,
		private readonly options: { keepMs?: number; maxKeys?: number; now?: () => number } = {},
	) {}

	get(key: string): Promise<V> {
		const now = this.options.now ?? Date.now;
		const held = this.answers.get(key);
		if (held && (held.settledAt === undefined || now() - held.settledAt < (this.options.keepMs ?? 0))) return held.answer;
		// Keys come from clients: bounded.
		if (this.answers.size >= (this.options.maxKeys ?? 10_000)) this.answers.clear();
		const entry: { answer: Promise<V>; settledAt?: number } = { answer: this.load(key) };
		this.answers.set(key, entry);
		entry.answer.then(
			() => {
				if (this.answers.get(key) !== entry) return;
				if (this.options.keepMs) entry.settledAt = now();
				else this.answers.delete(key);
			},
			() => {
				if (this.answers.get(key) === entry) this.answers.delete(key);
			},
		);
		return entry.answer;
	}

	forget(key: string): void {
		this.answers.delete(key);
	}
}
