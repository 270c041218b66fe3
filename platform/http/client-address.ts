/**
 * The client's address, which login throttling and rate limits are keyed by. X-Forwarded-For is
 * whatever the client wrote unless a proxy we trust appended to it, so it is read only through the
 * proxies listed in TRUST_PROXY (addresses, CIDR ranges, or proxy-addr's names such as `loopback`),
 * walking from the nearest hop outwards and stopping at the first address we do not trust.
 */
import type { IncomingMessage } from "node:http";
import ipaddr from "ipaddr.js";
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

/** Parsing an address costs more than the rest of the rate limiter; clients come back, so keep the answers. */
const LIMIT_KEY_CACHE_SIZE = 10_000;
const limitKeys = new Map<string, string>();

/**
 * What per-address limits count by. An IPv6 host is handed a whole /64 and can change address within
 * it at will, so IPv6 addresses are counted by their /64; IPv4 addresses by themselves.
 */
export function limitKeyOf(address: string): string {
	let key = limitKeys.get(address);
	if (key === undefined) {
		// Emptied rather than evicted one by one: a flood of new addresses only costs re-parsing.
		if (limitKeys.size >= LIMIT_KEY_CACHE_SIZE) limitKeys.clear();
		limitKeys.set(address, (key = parsedLimitKey(address)));
	}
	return key;
}

function parsedLimitKey(address: string): string {
	if (!ipaddr.isValid(address)) return address;
	const parsed = ipaddr.parse(address);
	if (parsed.kind() === "ipv4") return parsed.toString();
	const v6 = parsed as ipaddr.IPv6;
	if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
	const parts = v6.parts.slice(0, 4).map(part => part.toString(16));
	return `${parts.join(":")}::/64`;
}
