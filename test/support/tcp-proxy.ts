/**
 * A TCP proxy a test can cut and restore, standing for a backend that goes away (connections
 * dropped, new ones refused) and comes back on the same address.
 */
import net from "node:net";

export interface TcpProxy {
	port: number;
	url(scheme: string): string;
	/** Drops every connection and refuses new ones. */
	cut(): Promise<void>;
	/** Listens again on the same port. */
	restore(): Promise<void>;
	close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }, listenPort = 0): Promise<TcpProxy> {
	const sockets = new Set<net.Socket>();
	let server: net.Server | undefined;
	let port = listenPort;

	const listen = () =>
		new Promise<void>((resolve, reject) => {
			const created = net.createServer(client => {
				const upstream = net.connect(target.port, target.host);
				for (const socket of [client, upstream]) {
					sockets.add(socket);
					socket.on("close", () => sockets.delete(socket));
					socket.on("error", () => undefined);
				}
				client.pipe(upstream).pipe(client);
				client.on("close", () => upstream.destroy());
				upstream.on("close", () => client.destroy());
			});
			created.once("error", reject);
			created.listen(port, "127.0.0.1", () => {
				port = (created.address() as net.AddressInfo).port;
				server = created;
				resolve();
			});
		});

	const cut = async () => {
		const closing = server;
		server = undefined;
		for (const socket of sockets) socket.destroy();
		sockets.clear();
		if (closing) await new Promise<void>(resolve => closing.close(() => resolve()));
	};

	await listen();
	return {
		get port() {
			return port;
		},
		url: scheme => `${scheme}://127.0.0.1:${port}`,
		cut,
		restore: () => (server ? Promise.resolve() : listen()),
		close: cut,
	};
}
