/**
 * The client's address, which login throttling and rate limits are keyed by. X-Forwarded-For is
 * whatever the client wrote unless a proxy we trust appended to it, so it is read only through the
 * proxies listed in TRUST_PROXY (addresses, CIDR ranges, or proxy-addr's names such as `loopback`),
 * walking from the nearest hop outwards and stopping at the first address we do not trust.
 */
import type { IncomingMessage } from "node:http";
import proxyaddr from "proxy-addr";

export type ClientAddressResolver = (req: IncomingMessage) => string;

/** "::ffff:10.0.0.1" and "10.0.0.1" are the same client; keys must not differ by notation. */
function canonical(address: string): string {
	return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

export function clientAddressResolver(trustedProxies: readonly string[]): ClientAddressResolver {
	if (trustedProxies.length === 0) return req => canonical(req.socket.remoteAddress ?? "unknown");
	const trust = proxyaddr.compile([...trustedProxies]);
	return req => canonical(proxyaddr(req, trust));
}
