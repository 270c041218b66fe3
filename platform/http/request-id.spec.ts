import { acceptRequestId } from "./request-id";

describe("acceptRequestId", () => {
	it("keeps a well-formed client id", () => {
		expect(acceptRequestId("client-1234abcd")).toBe("client-1234abcd");
	});
	it("replaces missing, short, long or injection-shaped ids with a UUID", () => {
		for (const bad of [undefined, "", "abc", "x".repeat(200), "id\r\nSet-Cookie: a=b", "<script>"]) {
			const id = acceptRequestId(bad);
			expect(id).not.toBe(bad);
			expect(id).toMatch(/^[0-9a-f-]{36}$/);
		}
	});
});
