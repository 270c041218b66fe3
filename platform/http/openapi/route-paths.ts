/**
 * Route paths (path-to-regexp 8 syntax, optional groups included) → OpenAPI path templates.
 */
type PathToken = { kind: "text"; value: string } | { kind: "param"; name: string; wildcard: boolean } | { kind: "group"; tokens: PathToken[] };

const PARAM_START = /[$_\p{ID_Start}]/u;
const PARAM_CONTINUE = /[$\u200c\u200d\p{ID_Continue}]/u;

/** Reads a `:name`/`*name` (plain or `"quoted"`) starting at `index`; returns the name and the next index. */
function readParamName(source: string, index: number): [string, number] {
	if (source[index] === '"') {
		let name = "";
		let i = index + 1;
		while (i < source.length && source[i] !== '"') {
			if (source[i] === "\\") i++;
			name += source[i] ?? "";
			i++;
		}
		return [name, i + 1];
	}
	let i = index;
	if (i < source.length && PARAM_START.test(source[i])) {
		i++;
		while (i < source.length && PARAM_CONTINUE.test(source[i])) i++;
	}
	return [source.slice(index, i), i];
}

/** A small reader for the path-to-regexp 8 grammar, kept here so the module depends on no router. */
function tokenizePath(source: string): PathToken[] {
	const stack: PathToken[][] = [[]];
	const push = (token: PathToken): void => {
		const current = stack[stack.length - 1];
		const last = current[current.length - 1];
		if (token.kind === "text" && last?.kind === "text") last.value += token.value;
		else current.push(token);
	};
	for (let i = 0; i < source.length;) {
		const char = source[i];
		if (char === "\\" && i + 1 < source.length) {
			push({ kind: "text", value: source[i + 1] });
			i += 2;
		} else if (char === ":" || char === "*") {
			const [name, next] = readParamName(source, i + 1);
			if (name) push({ kind: "param", name, wildcard: char === "*" });
			else push({ kind: "text", value: char });
			i = name ? next : i + 1;
		} else if (char === "{") {
			stack.push([]);
			i++;
		} else if (char === "}" && stack.length > 1) {
			const tokens = stack.pop() ?? [];
			stack[stack.length - 1].push({ kind: "group", tokens });
			i++;
		} else {
			push({ kind: "text", value: char });
			i++;
		}
	}
	// An unclosed group is treated as literal content rather than failing the whole document.
	while (stack.length > 1) {
		const tokens = stack.pop() ?? [];
		stack[stack.length - 1].push(...tokens);
	}
	return stack[0];
}

export interface PathVariant {
	/** OpenAPI template, e.g. `/api/hunts/{id}/clues`. */
	template: string;
	/** Path parameter names in order of appearance. */
	params: string[];
	/** Names of `*splat` parameters, which span several segments. */
	wildcards: string[];
}

function cleanTemplate(template: string): string {
	let cleaned = `/${template}`.replace(/\/{2,}/g, "/");
	if (cleaned.length > 1 && cleaned.endsWith("/")) cleaned = cleaned.slice(0, -1);
	return cleaned;
}

/**
 * OpenAPI path parameters are always required, so each optional group `{…}` yields two documented
 * paths: one with the group, one without (`/api/hunts{/:id}` → `/api/hunts` and `/api/hunts/{id}`).
 */
export function expandRoutePath(routePath: string): PathVariant[] {
	const expand = (tokens: PathToken[]): PathVariant[] => {
		let variants: PathVariant[] = [{ template: "", params: [], wildcards: [] }];
		for (const token of tokens) {
			if (token.kind === "group") {
				const inner = expand(token.tokens);
				const withGroup = variants.flatMap(base =>
					inner.map(part => ({
						template: base.template + part.template,
						params: [...base.params, ...part.params],
						wildcards: [...base.wildcards, ...part.wildcards],
					})),
				);
				variants = [...variants, ...withGroup];
				continue;
			}
			variants = variants.map(base =>
				token.kind === "text"
					? { ...base, template: base.template + token.value }
					: {
							template: `${base.template}{${token.name}}`,
							params: [...base.params, token.name],
							wildcards: token.wildcard ? [...base.wildcards, token.name] : base.wildcards,
						},
			);
		}
		return variants;
	};
	// Different groups may collapse to the same path once slashes are cleaned up: keep the first.
	const byTemplate = new Map<string, PathVariant>();
	for (const variant of expand(tokenizePath(routePath))) {
		const template = cleanTemplate(variant.template);
		if (!byTemplate.has(template)) byTemplate.set(template, { ...variant, template });
	}
	return [...byTemplate.values()];
}
