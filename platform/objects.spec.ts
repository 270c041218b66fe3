import { isPlainObject } from "./objects";

it("tells plain objects from everything else that is typeof object", () => {
	expect([{}, { a: 1 }, Object.create(null), JSON.parse('{"x":[1]}')].every(isPlainObject)).toBe(true);
	expect([null, [], new Date(), Buffer.from("x"), new Map(), new (class Thing {})(), "text", 1, undefined].some(isPlainObject)).toBe(false);
});
