/**
 * Where signing keys live. Production reads a key-ring file it was given (a mounted secret); a
 * development node generates one under DATA_DIR/keys on first start and keeps it, so tokens stay
 * valid across restarts. Rotation writes a new current key and keeps the previous ones verifying.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { generateSigningKey, publicKeysOf, rotate, type KeyRing, type SigningKeyRecord } from "./tokens";
import type { PublicKeySet } from "../../contracts/auth";

export const DEV_KEYS_FILE = "keys/signing-keys.json";

export class KeyFileError extends Error {
	constructor(file: string, problem: string) {
		super(`Signing keys in ${file}: ${problem}`);
		this.name = "KeyFileError";
	}
}

function checkRecord(file: string, record: unknown, where: string): SigningKeyRecord {
	const r = record as Partial<SigningKeyRecord> | null;
	if (!r || typeof r.kid !== "string" || !r.privateJwk || !r.publicJwk) throw new KeyFileError(file, `${where} is not a signing key record`);
	if (r.privateJwk.crv !== "Ed25519" || typeof r.privateJwk.d !== "string") throw new KeyFileError(file, `${where} is not an Ed25519 private key`);
	return r as SigningKeyRecord;
}

export async function readKeyRing(file: string): Promise<KeyRing> {
	let text: string;
	try {
		text = await fs.readFile(file, "utf8");
	} catch (err) {
		throw new KeyFileError(file, (err as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (err as Error).message);
	}
	let parsed: { current?: unknown; previous?: unknown };
	try {
		parsed = JSON.parse(text) as typeof parsed;
	} catch {
		throw new KeyFileError(file, "not valid JSON");
	}
	const previous = Array.isArray(parsed.previous) ? parsed.previous : [];
	return { current: checkRecord(file, parsed.current, "current"), previous: previous.map((record, i) => checkRecord(file, record, `previous[${i}]`)) };
}

export async function writeKeyRing(file: string, ring: KeyRing): Promise<void> {
	await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
	// Written aside then renamed, so a crash never leaves a half-written ring behind.
	const temporary = `${file}.${process.pid}.tmp`;
	await fs.writeFile(temporary, JSON.stringify(ring, null, 2), { mode: 0o600 });
	await fs.rename(temporary, file);
}

/** The ring in `file`, created with a fresh key when the file does not exist yet. */
export async function readOrCreateKeyRing(file: string): Promise<{ ring: KeyRing; created: boolean }> {
	try {
		return { ring: await readKeyRing(file), created: false };
	} catch (err) {
		if (!(err instanceof KeyFileError) || !err.message.endsWith("file not found")) throw err;
	}
	const ring: KeyRing = { current: await generateSigningKey(), previous: [] };
	try {
		// wx: two processes starting on one data folder must not overwrite each other's key.
		await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
		await fs.writeFile(file, JSON.stringify(ring, null, 2), { mode: 0o600, flag: "wx" });
		return { ring, created: true };
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "EEXIST") return { ring: await readKeyRing(file), created: false };
		throw err;
	}
}

/** Rotates the ring in `file` (creating it if absent); the previous current key keeps verifying. */
export async function rotateKeyFile(file: string, keep = 2): Promise<KeyRing> {
	const { ring, created } = await readOrCreateKeyRing(file);
	if (created) return ring;
	const rotated = await rotate(ring, keep);
	await writeKeyRing(file, rotated);
	return rotated;
}

/** The key file a node uses: the configured one, or the generated development one under the data folder. */
export function signingKeysFile(auth: { keysFile?: string }, dataDir: string): string {
	return auth.keysFile ?? path.join(dataDir, DEV_KEYS_FILE);
}

/**
 * The node's ring. Only a development node may create one; in production the file must exist (the
 * configuration check already refuses to start without AUTH_KEYS_FILE).
 */
export async function loadSigningKeys(auth: { keysFile?: string }, dataDir: string): Promise<KeyRing> {
	const file = signingKeysFile(auth, dataDir);
	return auth.keysFile ? readKeyRing(file) : (await readOrCreateKeyRing(file)).ring;
}

/** Where `npm run keys` puts the public half of a ring: beside it, `<name>.public.json`. */
export function publicKeysFileFor(ringFile: string): string {
	return ringFile.replace(/(\.json)?$/, ".public.json");
}

export async function writePublicKeys(file: string, ring: KeyRing): Promise<void> {
	const set: PublicKeySet = { keys: publicKeysOf(ring) as PublicKeySet["keys"] };
	await fs.mkdir(path.dirname(file), { recursive: true });
	const temporary = `${file}.${process.pid}.tmp`;
	await fs.writeFile(temporary, JSON.stringify(set, null, 2), { mode: 0o644 });
	await fs.rename(temporary, file);
}

export async function readPublicKeys(file: string): Promise<PublicKeySet> {
	let parsed: { keys?: unknown };
	try {
		parsed = JSON.parse(await fs.readFile(file, "utf8")) as { keys?: unknown };
	} catch (err) {
		throw new KeyFileError(file, (err as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (err as Error).message);
	}
	const keys = Array.isArray(parsed.keys) ? parsed.keys : [];
	if (!keys.length || !keys.every(key => typeof key?.kid === "string" && key?.crv === "Ed25519" && typeof key?.x === "string" && key?.d === undefined)) {
		throw new KeyFileError(file, "not a set of Ed25519 public keys (and only public keys)");
	}
	return { keys };
}

/**
 * The verification keys a node may trust without asking the cluster: its own ring's public half,
 * or the pinned public key file. Undefined when neither is configured (development only).
 */
export async function pinnedPublicKeys(auth: { keysFile?: string; publicKeysFile?: string }): Promise<PublicKeySet | undefined> {
	if (auth.keysFile) return { keys: publicKeysOf(await readKeyRing(auth.keysFile)) as PublicKeySet["keys"] };
	if (auth.publicKeysFile) return readPublicKeys(auth.publicKeysFile);
	return undefined;
}
