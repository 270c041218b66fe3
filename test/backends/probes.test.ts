import net from "node:net";
import { BACKEND_NAMES, probeBackend, type BackendName } from "./probes";
// Free a moment ago, nothing listens there now: a port that refuses connections.
import { freePort as closedPort } from "../support/node";

const urlFor = (name: BackendName, port: number) =>
	({
		postgres: `postgres://postgres@127.0.0.1:${port}/test`,
		redis: `redis://127.0.0.1:${port}`,
		nats: `nats://127.0.0.1:${port}`,
		kafka: `kafka://127.0.0.1:${port}`,
		neo4j: `bolt://127.0.0.1:${port}`,
		opensearch: `http://127.0.0.1:${port}`,
	})[name];

describe("backend probes", () => {
	it.each(BACKEND_NAMES)("report %s as not answering, with the address, when nothing listens", async name => {
		const url = urlFor(name, await closedPort());
		const reason = await probeBackend(name, url, 4_000);
		expect(reason).toContain(`is not answering at ${url}`);
	});

	it("report a server that accepts connections but never answers, once the time is up", async () => {
		const sockets: net.Socket[] = [];
		const silent = net.createServer(socket => void sockets.push(socket));
		await new Promise<void>(resolve => silent.listen(0, "127.0.0.1", resolve));
		const { port } = silent.address() as net.AddressInfo;
		try {
			const reason = await probeBackend("redis", `redis://127.0.0.1:${port}`, 1_000);
			expect(reason).toMatch(/did not answer within 1000 ms|ETIMEDOUT|timeout/i);
		} finally {
			for (const socket of sockets) socket.destroy();
			silent.close();
		}
	});
});
