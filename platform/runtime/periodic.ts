/**
 * Housekeeping that runs on a timer inside a service (purges, catch-ups, logging the audit head):
 * never two runs of one task at once, a failure reported and the next run tried as usual, and the
 * timer never keeps a stopping process alive.
 */
export interface PeriodicTask {
	stop(): void;
}

export function every(intervalMs: number, task: () => Promise<unknown>, onFailure: (err: Error) => void): PeriodicTask {
	let running = false;
	const timer = setInterval(() => {
		if (running) return;
		running = true;
		task()
			.catch(err => onFailure(err instanceof Error ? err : new Error(String(err))))
			.finally(() => (running = false));
	}, intervalMs);
	timer.unref();
	return { stop: () => clearInterval(timer) };
}
