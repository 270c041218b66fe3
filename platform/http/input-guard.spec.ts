import { inspectInput, MAX_INPUT_DEPTH } from "./input-guard";

const nested = (depth: number): unknown => {
	let value: unknown = "leaf";
	for (let i = 0; i < depth; i++) value = [value];
	return value;
};

describe("inspectInput", () => {
	it("accepts ordinary parameters, emoji and every script included", () => {
		expect(inspectInput({ email: "ana@example.com", displayName: "Ана 🗺️ 宝探し", tags: ["a", "b"], area: { lat: 48.8, lon: 2.3, radiusM: 500 }, n: null })).toBeUndefined();
	});

	it("names the field holding a NUL character", () => {
		expect(inspectInput({ user: { displayName: "Ana\u0000" } })).toEqual({ kind: "invalid_value", field: "user.displayName", reason: "contains a NUL character" });
		expect(inspectInput({ tags: ["ok", "b\u0000d"] })).toEqual({ kind: "invalid_value", field: "tags[1]", reason: "contains a NUL character" });
	});

	it("refuses lone surrogates but keeps surrogate pairs", () => {
		expect(inspectInput({ name: "\ud800" })).toMatchObject({ kind: "invalid_value", field: "name" });
		expect(inspectInput({ name: "x\udc00" })).toMatchObject({ kind: "invalid_value", field: "name" });
		expect(inspectInput({ name: "\ud83d\uddfa" })).toBeUndefined();
	});

	it("refuses numbers out of range: Infinity (1e309 in JSON) and beyond 2^53", () => {
		expect(inspectInput({ before: JSON.parse("1e309") })).toEqual({ kind: "invalid_value", field: "before", reason: "is a number out of range" });
		expect(inspectInput({ offset: 1e308 })).toMatchObject({ field: "offset" });
		expect(inspectInput({ lat: 48.85, n: Number.MAX_SAFE_INTEGER, neg: -12.5 })).toBeUndefined();
	});

	it("checks keys too", () => {
		expect(inspectInput({ "a\u0000": 1 })).toMatchObject({ kind: "invalid_value", reason: "has a key that contains a NUL character" });
	});

	it(`allows ${MAX_INPUT_DEPTH} levels and refuses one more, without recursion even at 100,000`, () => {
		expect(inspectInput({ v: nested(MAX_INPUT_DEPTH - 2) })).toBeUndefined();
		expect(inspectInput({ v: nested(MAX_INPUT_DEPTH) })).toMatchObject({ kind: "too_deep", maxDepth: MAX_INPUT_DEPTH });
		expect(inspectInput(nested(100_000))).toMatchObject({ kind: "too_deep" });
	});

	it("leaves bytes alone", () => {
		expect(inspectInput({ file: Buffer.from([0, 0, 0]) })).toBeUndefined();
	});
});
