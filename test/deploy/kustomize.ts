/**
 * A small kustomize renderer for the deploy tests: no kustomize binary is guaranteed on developer or CI
 * machines, yet the objects worth validating are the ones an overlay produces, not the raw base files.
 *
 * It implements exactly the features k8s/ uses, with kustomize's semantics and order (patches, then
 * namespace, then images; `config.kubernetes.io/local-config` objects dropped from the output at the end),
 * and throws on anything else, so a new kustomize feature in k8s/ fails the tests instead of being ignored.
 */
import fs from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
	[key: string]: JsonValue;
}

export interface Manifest extends JsonObject {
	apiVersion: string;
	kind: string;
	metadata: JsonObject & { name: string };
}

interface PatchTarget {
	group?: string;
	version?: string;
	kind?: string;
	name?: string;
}

interface PatchEntry {
	path?: string;
	patch?: string;
	target?: PatchTarget;
}

interface ImageEntry {
	name: string;
	newName?: string;
	newTag?: string;
	digest?: string;
}

export interface Kustomization {
	apiVersion: string;
	kind: string;
	namespace?: string;
	resources?: string[];
	images?: ImageEntry[];
	patches?: PatchEntry[];
}

export interface RenderResult {
	kustomization: Kustomization;
	/** What `kustomize build` prints. */
	objects: Manifest[];
	/** Transformed like the rest but left out of the output (templates, contracts). */
	localConfig: Manifest[];
	/** Every file the build read, for the "no orphan YAML" check. */
	filesRead: Set<string>;
}

export const LOCAL_CONFIG_ANNOTATION = "config.kubernetes.io/local-config";

const SUPPORTED_FIELDS = {
	kustomization: new Set(["apiVersion", "kind", "namespace", "resources", "images", "patches"]),
	patch: new Set(["path", "patch", "target"]),
	target: new Set(["group", "version", "kind", "name"]),
	image: new Set(["name", "newName", "newTag", "digest"]),
};

function rejectUnsupported(what: keyof typeof SUPPORTED_FIELDS, value: object, where: string): void {
	for (const key of Object.keys(value)) {
		if (!SUPPORTED_FIELDS[what].has(key)) throw new Error(`${where}: ${what} field "${key}" is not implemented by test/deploy/kustomize.ts`);
	}
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Every YAML document of a file; empty documents (a trailing `---`) are skipped like kustomize does. */
export function readYamlDocuments(file: string): JsonValue[] {
	return parseYamlDocuments(fs.readFileSync(file, "utf8"), file);
}

function parseYamlDocuments(text: string, where: string): JsonValue[] {
	const docs = parseAllDocuments(text);
	if (!Array.isArray(docs)) throw new Error(`${where}: not a YAML stream`);
	const values: JsonValue[] = [];
	for (const doc of docs) {
		if (doc.errors.length) throw new Error(`${where}: ${doc.errors.map(e => e.message).join("; ")}`);
		const value = doc.toJS() as JsonValue;
		if (value !== null && value !== undefined) values.push(value);
	}
	return values;
}

function asManifest(value: JsonValue, where: string): Manifest {
	if (!isJsonObject(value)) throw new Error(`${where}: a resource must be a mapping`);
	const { apiVersion, kind, metadata } = value;
	if (typeof apiVersion !== "string" || typeof kind !== "string" || !isJsonObject(metadata) || typeof metadata.name !== "string") {
		throw new Error(`${where}: a resource needs apiVersion, kind and metadata.name`);
	}
	return value as Manifest;
}

function groupAndVersion(apiVersion: string): { group: string; version: string } {
	const slash = apiVersion.indexOf("/");
	return slash < 0 ? { group: "", version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function resourceId(obj: Manifest): string {
	const namespace = typeof obj.metadata.namespace === "string" ? obj.metadata.namespace : "";
	return `${groupAndVersion(obj.apiVersion).group}/${obj.kind}/${namespace}/${obj.metadata.name}`;
}

export function isLocalConfig(obj: Manifest): boolean {
	const annotations = obj.metadata.annotations;
	return isJsonObject(annotations) && annotations[LOCAL_CONFIG_ANNOTATION] === "true";
}

export function renderKustomization(dir: string): RenderResult {
	const filesRead = new Set<string>();
	const { kustomization, resources } = accumulate(path.resolve(dir), filesRead);
	return {
		kustomization,
		objects: resources.filter(obj => !isLocalConfig(obj)),
		localConfig: resources.filter(isLocalConfig),
		filesRead,
	};
}

function accumulate(dir: string, filesRead: Set<string>): { kustomization: Kustomization; resources: Manifest[] } {
	const file = path.join(dir, "kustomization.yaml");
	filesRead.add(file);
	const [raw, ...extra] = readYamlDocuments(file);
	if (!isJsonObject(raw) || extra.length) throw new Error(`${file}: expected one mapping`);
	rejectUnsupported("kustomization", raw, file);
	const kustomization = raw as unknown as Kustomization;
	if (kustomization.apiVersion !== "kustomize.config.k8s.io/v1beta1" || kustomization.kind !== "Kustomization") {
		throw new Error(`${file}: not a kustomize.config.k8s.io/v1beta1 Kustomization`);
	}

	let resources: Manifest[] = [];
	for (const entry of kustomization.resources ?? []) {
		const target = path.resolve(dir, entry);
		if (fs.statSync(target).isDirectory()) {
			resources.push(...accumulate(target, filesRead).resources);
		} else {
			filesRead.add(target);
			resources.push(...readYamlDocuments(target).map((doc, i) => asManifest(doc, `${target}#${i}`)));
		}
	}
	assertUniqueIds(resources, file);

	for (const [index, entry] of (kustomization.patches ?? []).entries()) {
		resources = applyPatchEntry(resources, entry, dir, `${file} patches[${index}]`, filesRead);
	}
	if (kustomization.namespace) {
		for (const obj of resources) obj.metadata.namespace = kustomization.namespace;
	}
	for (const image of kustomization.images ?? []) {
		rejectUnsupported("image", image, file);
		if (!setImages(resources, image)) throw new Error(`${file}: images entry "${image.name}" matches no container`);
	}
	return { kustomization, resources };
}

function assertUniqueIds(resources: Manifest[], where: string): void {
	const seen = new Set<string>();
	for (const obj of resources) {
		const id = resourceId(obj);
		if (seen.has(id)) throw new Error(`${where}: duplicate resource ${id}`);
		seen.add(id);
	}
}

function applyPatchEntry(resources: Manifest[], entry: PatchEntry, dir: string, where: string, filesRead: Set<string>): Manifest[] {
	rejectUnsupported("patch", entry, where);
	if ((entry.path === undefined) === (entry.patch === undefined)) throw new Error(`${where}: give exactly one of path or patch`);
	let text: string;
	if (entry.path !== undefined) {
		const file = path.resolve(dir, entry.path);
		filesRead.add(file);
		text = fs.readFileSync(file, "utf8");
	} else {
		text = entry.patch as string;
	}
	const docs = parseYamlDocuments(text, where);
	if (docs.length !== 1) throw new Error(`${where}: expected exactly one patch document, found ${docs.length}`);
	const patch = docs[0];

	// kustomize tells the two patch kinds apart by shape: a list is JSON 6902, a mapping a strategic merge.
	if (Array.isArray(patch)) {
		if (!entry.target) throw new Error(`${where}: a JSON 6902 patch needs a target`);
		rejectUnsupported("target", entry.target, where);
		const matches = resources.filter(obj => matchesTarget(obj, entry.target as PatchTarget));
		if (!matches.length) throw new Error(`${where}: target ${JSON.stringify(entry.target)} matches no resource`);
		return resources.map(obj => (matches.includes(obj) ? asManifest(applyJsonPatch(obj, patch as unknown as JsonPatchOperation[]), where) : obj));
	}
	if (entry.target) throw new Error(`${where}: strategic merge patches with a target are not implemented`);
	const smp = asManifest(patch, where);
	const matches = resources.filter(obj => obj.apiVersion === smp.apiVersion && obj.kind === smp.kind && obj.metadata.name === smp.metadata.name);
	if (matches.length !== 1) throw new Error(`${where}: ${smp.kind}/${smp.metadata.name} matches ${matches.length} resources, expected 1`);
	return resources.map(obj => (obj === matches[0] ? asManifest(strategicMerge(obj, smp, obj.kind), where) : obj));
}

function matchesTarget(obj: Manifest, target: PatchTarget): boolean {
	const { group, version } = groupAndVersion(obj.apiVersion);
	return (
		(target.group === undefined || target.group === group) &&
		(target.version === undefined || target.version === version) &&
		(target.kind === undefined || target.kind === obj.kind) &&
		(target.name === undefined || target.name === obj.metadata.name)
	);
}

// ---------------------------------------------------------------------------------------------------
// Strategic merge patch. Kubernetes decides per field how a list merges (patchMergeKey / listType in the
// API types). Only the list fields below are known here; a patch touching any other list throws rather
// than guess, because replacing a list that Kubernetes would merge silently drops entries.

const ATOMIC = Symbol("atomic list: the patch replaces it");
const LIST_STRATEGIES: Record<string, string | typeof ATOMIC> = {
	"Deployment:spec.template.spec.containers": "name",
	"Deployment:spec.template.spec.initContainers": "name",
	"Deployment:spec.template.spec.volumes": "name",
	"Deployment:spec.template.spec.containers[].env": "name",
	"Deployment:spec.template.spec.containers[].ports": "containerPort",
	"Deployment:spec.template.spec.containers[].volumeMounts": "mountPath",
	"Deployment:spec.template.spec.containers[].envFrom": ATOMIC,
	"Deployment:spec.template.spec.containers[].command": ATOMIC,
	"Deployment:spec.template.spec.containers[].args": ATOMIC,
	"Service:spec.ports": "port",
	"HorizontalPodAutoscaler:spec.metrics": ATOMIC,
};

export function strategicMerge(base: JsonValue | undefined, patch: JsonValue, kind: string, fieldPath = ""): JsonValue {
	if (isJsonObject(patch)) {
		const result: JsonObject = isJsonObject(base) ? { ...base } : {};
		for (const [key, value] of Object.entries(patch)) {
			if (key.startsWith("$")) throw new Error(`strategic merge directive ${key} at ${fieldPath || "(root)"} is not implemented`);
			// null in a strategic merge patch deletes the field.
			if (value === null) delete result[key];
			else result[key] = strategicMerge(result[key], value, kind, fieldPath ? `${fieldPath}.${key}` : key);
		}
		return result;
	}
	if (Array.isArray(patch)) {
		const strategy = LIST_STRATEGIES[`${kind}:${fieldPath}`];
		if (strategy === undefined) throw new Error(`${kind} list ${fieldPath}: merge strategy unknown to test/deploy/kustomize.ts`);
		if (strategy === ATOMIC) return structuredClone(patch);
		const merged = Array.isArray(base) ? [...base] : [];
		for (const item of patch) {
			if (!isJsonObject(item) || item[strategy] === undefined) throw new Error(`${kind} list ${fieldPath}: every patch item needs its merge key "${strategy}"`);
			const index = merged.findIndex(existing => isJsonObject(existing) && existing[strategy] === item[strategy]);
			const value = strategicMerge(index >= 0 ? merged[index] : undefined, item, kind, `${fieldPath}[]`);
			if (index >= 0) merged[index] = value;
			else merged.push(value);
		}
		return merged;
	}
	return patch;
}

// ---------------------------------------------------------------------------------------------------
// JSON patch (RFC 6902): add, remove, replace and test, which is what overlays use.

export interface JsonPatchOperation {
	op: string;
	path: string;
	value?: JsonValue;
}

function parsePointer(pointer: string): string[] {
	if (!pointer.startsWith("/")) throw new Error(`JSON pointer "${pointer}" must start with /`);
	return pointer
		.slice(1)
		.split("/")
		.map(token => token.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function arrayIndex(token: string, length: number, allowEnd: boolean, pointer: string): number {
	if (allowEnd && token === "-") return length;
	if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new Error(`${pointer}: "${token}" is not an array index`);
	const index = Number(token);
	if (index > length || (!allowEnd && index === length)) throw new Error(`${pointer}: index ${index} is out of bounds`);
	return index;
}

export function applyJsonPatch(document: JsonValue, operations: JsonPatchOperation[]): JsonValue {
	const doc = structuredClone(document);
	for (const operation of operations) {
		const tokens = parsePointer(operation.path);
		const last = tokens.pop() as string;
		let parent: JsonValue = doc;
		for (const token of tokens) {
			const next: JsonValue | undefined = Array.isArray(parent) ? parent[arrayIndex(token, parent.length, false, operation.path)] : isJsonObject(parent) ? parent[token] : undefined;
			if (next === undefined) throw new Error(`${operation.op} ${operation.path}: path does not exist`);
			parent = next;
		}
		const exists = Array.isArray(parent) ? /^\d+$/.test(last) && Number(last) < parent.length : isJsonObject(parent) && Object.hasOwn(parent, last);
		if (!Array.isArray(parent) && !isJsonObject(parent)) throw new Error(`${operation.op} ${operation.path}: parent is not a container`);
		if (operation.op !== "add" && operation.op !== "remove" && operation.op !== "replace" && operation.op !== "test") {
			throw new Error(`JSON patch op "${operation.op}" is not implemented`);
		}
		if (operation.op !== "remove" && operation.value === undefined) throw new Error(`${operation.op} ${operation.path}: missing value`);
		if (operation.op !== "add" && !exists) throw new Error(`${operation.op} ${operation.path}: path does not exist`);
		const value = operation.value as JsonValue;
		if (operation.op === "test") {
			const current = Array.isArray(parent) ? parent[Number(last)] : (parent as JsonObject)[last];
			if (JSON.stringify(current) !== JSON.stringify(value)) throw new Error(`test ${operation.path}: value differs`);
		} else if (Array.isArray(parent)) {
			const index = arrayIndex(last, parent.length, operation.op === "add", operation.path);
			if (operation.op === "add") parent.splice(index, 0, value);
			else if (operation.op === "replace") parent[index] = value;
			else parent.splice(index, 1);
		} else if (operation.op === "remove") {
			delete parent[last];
		} else {
			parent[last] = value;
		}
	}
	return doc;
}

// ---------------------------------------------------------------------------------------------------
// images: rewrites container images whose name (without tag or digest) equals the entry's name.

export function splitImage(reference: string): { name: string; tag?: string; digest?: string } {
	const at = reference.indexOf("@");
	const withoutDigest = at < 0 ? reference : reference.slice(0, at);
	const digest = at < 0 ? undefined : reference.slice(at + 1);
	const colon = withoutDigest.lastIndexOf(":");
	// A colon before the last slash belongs to a registry port, not a tag.
	if (colon > withoutDigest.lastIndexOf("/")) return { name: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1), digest };
	return { name: withoutDigest, digest };
}

function setImages(resources: Manifest[], entry: ImageEntry): boolean {
	let matched = false;
	for (const obj of resources) {
		const spec = obj.spec;
		const template = isJsonObject(spec) ? spec.template : undefined;
		const podSpec = isJsonObject(template) ? template.spec : undefined;
		if (!isJsonObject(podSpec)) continue;
		for (const field of ["containers", "initContainers"]) {
			const containers = podSpec[field];
			if (!Array.isArray(containers)) continue;
			for (const container of containers) {
				if (!isJsonObject(container) || typeof container.image !== "string") continue;
				const current = splitImage(container.image);
				if (current.name !== entry.name) continue;
				matched = true;
				const name = entry.newName ?? current.name;
				if (entry.digest) container.image = `${name}@${entry.digest}`;
				else if (entry.newTag) container.image = `${name}:${entry.newTag}`;
				else container.image = `${name}${current.tag ? `:${current.tag}` : ""}${current.digest ? `@${current.digest}` : ""}`;
			}
		}
	}
	return matched;
}
