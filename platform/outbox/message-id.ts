import { createHash, randomUUID } from "node:crypto";

/**
 * A message id: random, or derived from a key when the same logical message may be written more
 * than once (the same key always gives the same id, which the outbox and consumers keep once).
 * Derived ids are UUID-shaped with version nibble 5, as name-based UUIDs have.
 */
export function messageId(key?: string): string {
	if (key === undefined) return randomUUID();
	const hex = createHash("sha256").update(key).digest("hex");
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
