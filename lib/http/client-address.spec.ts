import type { IncomingMessage } from "node:http";
import { clientAddressResolver } from "./client-address";

const request = (remoteAddress: string, forwardedFor?: string) =>
	({ socket: { remoteAddress }, connection: { remoteAddress }, headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {} }) as unknown as IncomingMessage;

describe("clientAddressResolver", () => {
	it("ignores X-Forwarded-For when no proxy is trusted", () => {
		const resolve = clientAddressResolver([]);
		expect(resolve(request("198.51.100.7", "203.0.113.1"))).toBe("198.51.100.7");
		expect(resolve(request("::ffff:198.51.100.7", "203.0.113.1"))).toBe("198.51.100.7");
	});

	it("believes only hops appended by trusted proxies, nearest first", () => {
		const resolve = clientAddressResolver(["10.0.0.0/8"]);
		// Proxy 10.0.0.5 saw the client 203.0.113.1; anything further left is client-written.
		expect(resolve(request("10.0.0.5", "6.6.6.6, 203.0.113.1"))).toBe("203.0.113.1");
		// Two trusted proxies in a row.
		expect(resolve(request("10.0.0.5", "6.6.6.6, 203.0.113.1, 10.1.2.3"))).toBe("203.0.113.1");
	});

	it("does not let a client that is not a trusted proxy speak for another", () => {
		const resolve = clientAddressResolver(["loopback"]);
		expect(resolve(request("198.51.100.7", "203.0.113.1"))).toBe("198.51.100.7");
		expect(resolve(request("127.0.0.1", "203.0.113.1"))).toBe("203.0.113.1");
	});
});
