import type { IncomingMessage } from "node:http";
import { clientAddressResolver, limitKeyOf } from "./client-address";

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

describe("limitKeyOf", () => {
	it("counts IPv6 clients by their /64 and IPv4 clients by their address", () => {
		expect(limitKeyOf("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
		expect(limitKeyOf("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
		expect(limitKeyOf("2001:db8:1:3::1")).toBe("2001:db8:1:3::/64");
		expect(limitKeyOf("203.0.113.9")).toBe("203.0.113.9");
		expect(limitKeyOf("::ffff:203.0.113.9")).toBe("203.0.113.9");
		expect(limitKeyOf("unknown")).toBe("unknown");
	});
});
