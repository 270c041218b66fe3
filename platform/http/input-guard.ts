/**
 * What no parameter may carry, whatever its schema says: text PostgreSQL cannot store (NUL) or that
 * is not Unicode at all (a lone surrogate from a `\ud800` escape), numbers out of any sane range
 * (Infinity, beyond 2^53), and structures nested deeper than
 * any client needs, which overflow the stack of whatever walks them recursively (validators, error
 * formatting, serializers). Checked iteratively, so the check itself cannot overflow.
 */

export const MAX_INPUT_DEPTH = 32;

export type InputProblem = { kind: "too_deep"; field: string; maxDepth: number } | { kind: "invalid_value"; field: string; reason: string };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function textProblem(text: string): string | undefined {
	if (text.includes("\u0000")) return "contains a NUL character";
	if (LONE_SURROGATE.test(text)) return "is not valid Unicode (a lone surrogate)";
	return undefined;
}

function fieldName(path: string, key: string | number): string {
	if (typeof key === "number") return `${path}[${key}]`;
	return path ? `${path}.${key}` : key;
}

/** The first problem found in `value` (depth-first), or undefined when it is clean. */
export function inspectInput(value: unknown, maxDepth = MAX_INPUT_DEPTH): InputProblem | undefined {
	const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value, path: "", depth: 0 }];
	while (stack.length) {
		const { value: current, path, depth } = stack.pop()!;
		if (typeof current === "string") {
			const reason = textProblem(current);
			if (reason) return { kind: "invalid_value", field: path || "(body)", reason };
			continue;
		}
		// JSON.parse turns 1e309 into Infinity; no field of ours means a number past 2^53 either, and
		// such values only fail later, in the database.
		if (typeof current === "number") {
			if (!Number.isFinite(current) || Math.abs(current) > Number.MAX_SAFE_INTEGER) return { kind: "invalid_value", field: path || "(body)", reason: "is a number out of range" };
			continue;
		}
		if (typeof current !== "object" || current === null) continue;
		// Buffers and streams (uploads) are bytes, not text or structure.
		if (ArrayBuffer.isView(current) || typeof (current as { pipe?: unknown }).pipe === "function") continue;
		if (depth >= maxDepth) return { kind: "too_deep", field: path || "(body)", maxDepth };
		if (Array.isArray(current)) {
			for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: fieldName(path, i), depth: depth + 1 });
			continue;
		}
		const entries = Object.entries(current as Record<string, unknown>);
		for (let i = entries.length - 1; i >= 0; i--) {
			const [key, child] = entries[i];
			const keyReason = textProblem(key);
			if (keyReason) return { kind: "invalid_value", field: fieldName(path, JSON.stringify(key)), reason: `has a key that ${keyReason}` };
			stack.push({ value: child, path: fieldName(path, key), depth: depth + 1 });
		}
	}
	return undefined;
}
