import { every } from "./periodic";

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

it("runs on its interval, never twice at once, reports failures and keeps going until stopped", async () => {
	const failures: string[] = [];
	let runs = 0;
	let release!: () => void;
	const task = every(
		100,
		() => {
			runs++;
			if (runs === 1) return new Promise<void>(resolve => (release = resolve));
			return Promise.reject(new Error(`failed run ${runs}`));
		},
		err => failures.push(err.message),
	);
	await jest.advanceTimersByTimeAsync(350);
	// The first run is still going: the ticks in between did not start another.
	expect(runs).toBe(1);
	release();
	await jest.advanceTimersByTimeAsync(100);
	await jest.advanceTimersByTimeAsync(100);
	expect(runs).toBe(3);
	expect(failures).toEqual(["failed run 2", "failed run 3"]);
	task.stop();
	await jest.advanceTimersByTimeAsync(1000);
	expect(runs).toBe(3);
});
