/**
 * `npm run keys -- <file>`: creates a signing-key ring, or rotates the one already there. Nodes
 * pick up a rotated file at their next start; tokens signed with the previous key stay valid.
 * `--if-missing` only creates (for a container that prepares the key volume on every start).
 * The public half is written beside it (`<name>.public.json`) for AUTH_PUBLIC_KEYS_FILE.
 */
import { publicKeysFileFor, readOrCreateKeyRing, rotateKeyFile, writePublicKeys } from "./key-store";

async function main(): Promise<void> {
	const args = process.argv.slice(2);
	const ifMissing = args.includes("--if-missing");
	const file = args.find(arg => !arg.startsWith("--"));
	if (!file) {
		console.error("usage: npm run keys -- [--if-missing] <path/to/signing-keys.json>");
		process.exit(2);
	}
	const ring = ifMissing ? (await readOrCreateKeyRing(file)).ring : await rotateKeyFile(file);
	// Verifying nodes get only this file; they never see the private keys.
	const publicFile = publicKeysFileFor(file);
	await writePublicKeys(publicFile, ring);
	console.log(`${publicFile}: public keys for verifying nodes (AUTH_PUBLIC_KEYS_FILE)`);
	console.log(`${file}: current key ${ring.current.kid}; still verifying: ${ring.previous.map(k => k.kid).join(", ") || "none"}`);
}

main().catch((err: unknown) => {
	console.error(err instanceof Error ? err.message : err);
	process.exit(1);
});
