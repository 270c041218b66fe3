import { connect } from "nats";

/**
 * Deletes the JetStream streams a test run made (the channels adapter names each `<namespace>_<channel>`).
 * Left behind, they pile up on the test server: it restores every one at start, which took 40 s
 * after a few hundred runs.
 */
export async function deleteNatsStreams(url: string, namespace: string): Promise<void> {
	const nc = await connect({ servers: new URL(url).host });
	try {
		const jsm = await nc.jetstreamManager();
		// Listed first, then deleted: deleting while listing shifts the pages and skips streams.
		const ours: string[] = [];
		for await (const stream of jsm.streams.list()) if (stream.config.name.startsWith(`${namespace}_`)) ours.push(stream.config.name);
		for (const name of ours) await jsm.streams.delete(name);
	} finally {
		await nc.close();
	}
}
