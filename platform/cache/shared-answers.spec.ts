import { SharedAnswers } from "./shared-answers";

const deferred = <T>() => {
	let resolve!: (value: T) => void;
	let reject!: (err: Error) => void;
	const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
	return { promise, resolve, reject };
};

describe("shared answers", () => {
	it("shares the request in flight among concurrent asks, and asks again once it settled when nothing is kept", async () => {
		const calls: string[] = [];
		const pending = [deferred<number>(), deferred<number>()];
		const answers = new SharedAnswers<number>(key => (calls.push(key), pending[calls.length - 1].promise));
		const [a, b] = [answers.get("hunt"), answers.get("hunt")];
		expect(calls).toEqual(["hunt"]);
		pending[0].resolve(1);
		expect(await Promise.all([a, b])).toEqual([1, 1]);
		const c = answers.get("hunt");
		expect(calls).toEqual(["hunt", "hunt"]);
		pending[1].resolve(2);
		expect(await c).toBe(2);
	});

	it("keeps an answer for keepMs, until forgotten, and never keeps a failure", async () => {
		let now = 0;
		let calls = 0;
		let fail = true;
		const answers = new SharedAnswers<number>(
			async () => {
				calls++;
				if (fail) throw new Error("down");
				return calls;
			},
			{ keepMs: 1000, now: () => now },
		);
		await expect(answers.get("k")).rejects.toThrow("down");
		fail = false;
		expect(await answers.get("k")).toBe(2);
		now = 999;
		expect(await answers.get("k")).toBe(2);
		now = 1000;
		expect(await answers.get("k")).toBe(3);
		answers.forget("k");
		expect(await answers.get("k")).toBe(4);
	});
});
