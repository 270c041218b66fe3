import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { KeyFileError, loadSigningKeys, pinnedPublicKeys, publicKeysFileFor, readKeyRing, readOrCreateKeyRing, readPublicKeys, rotateKeyFile, writePublicKeys } from "./key-store";

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "lootopia-keys-"));

describe("key files", () => {
	it("creates a development ring once, private to its owner, and reuses it", async () => {
		const dir = tempDir();
		const first = await loadSigningKeys({}, dir);
		const again = await loadSigningKeys({}, dir);
		expect(again.current.kid).toBe(first.current.kid);
		expect(fs.statSync(path.join(dir, "keys/signing-keys.json")).mode & 0o777).toBe(0o600);
	});

	it("never creates a configured (production) ring that is missing", async () => {
		const file = path.join(tempDir(), "absent.json");
		await expect(loadSigningKeys({ keysFile: file }, tempDir())).rejects.toThrow(KeyFileError);
		expect(fs.existsSync(file)).toBe(false);
	});

	it("rotates: a new current key, the old one kept for verification", async () => {
		const file = path.join(tempDir(), "ring.json");
		const { ring } = await readOrCreateKeyRing(file);
		const rotated = await rotateKeyFile(file);
		expect(rotated.current.kid).not.toBe(ring.current.kid);
		expect(rotated.previous.map(k => k.kid)).toEqual([ring.current.kid]);
		expect((await readKeyRing(file)).current.kid).toBe(rotated.current.kid);
	});

	it("writes and reads the public half only, and refuses a file holding a private key", async () => {
		const dir = tempDir();
		const ringFile = path.join(dir, "signing-keys.json");
		const ring = await rotateKeyFile(ringFile);
		const publicFile = publicKeysFileFor(ringFile);
		expect(publicFile).toBe(path.join(dir, "signing-keys.public.json"));
		await writePublicKeys(publicFile, ring);
		const set = await readPublicKeys(publicFile);
		expect(set.keys.map(k => k.kid)).toEqual([ring.current.kid]);
		expect(JSON.stringify(set)).not.toContain(String(ring.current.privateJwk.d));
		fs.writeFileSync(path.join(dir, "leaky.json"), JSON.stringify({ keys: [ring.current.privateJwk] }));
		await expect(readPublicKeys(path.join(dir, "leaky.json"))).rejects.toThrow(/only public keys/);
		expect((await pinnedPublicKeys({ publicKeysFile: publicFile }))?.keys).toHaveLength(1);
		expect((await pinnedPublicKeys({ keysFile: ringFile }))?.keys[0].kid).toBe(ring.current.kid);
		expect(await pinnedPublicKeys({})).toBeUndefined();
	});
});
