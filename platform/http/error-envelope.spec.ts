import { Errors } from "moleculer";
import { AppError } from "../errors/app-error";
import { renderError } from "./error-envelope";

describe("renderError", () => {
	it("renders our own errors with their code, status and details", () => {
		const rendered = renderError(new AppError("CONFLICT", "No rewards left", { left: 0 }));
		expect(rendered.status).toBe(409);
		expect(rendered.body).toEqual({ error: { code: "CONFLICT", message: "No rewards left", details: { left: 0 } } });
		expect(rendered.unexpected).toBe(false);
	});

	it("recognises an AppError regenerated on another node as a plain MoleculerError", () => {
		const remote = new Errors.MoleculerError("Hunt not found", 404, "NOT_FOUND", { id: "h1" });
		expect(renderError(remote)).toMatchObject({ status: 404, body: { error: { code: "NOT_FOUND", message: "Hunt not found", details: { id: "h1" } } } });
	});

	it("lists the failing fields of a validation error", () => {
		const err = new Errors.ValidationError("Parameters validation error!", "VALIDATION_ERROR", [
			{ type: "stringMin", field: "name", message: "The 'name' field length must be greater than or equal to 3 characters long.", actual: "ab" },
		]);
		const rendered = renderError(err);
		expect(rendered.status).toBe(422);
		expect(rendered.body.error.code).toBe("VALIDATION_FAILED");
		expect(rendered.body.error.details).toEqual([{ field: "name", rule: "stringMin", message: expect.stringContaining("3 characters") }]);
	});

	it("maps body-parser failures to 400 and 413", () => {
		expect(renderError(Object.assign(new SyntaxError("Unexpected token"), { type: "entity.parse.failed", status: 400 })).status).toBe(400);
		expect(renderError(Object.assign(new Error("request entity too large"), { type: "entity.too.large", status: 413 })).body.error.code).toBe("PAYLOAD_TOO_LARGE");
	});

	it("maps Moleculer's transport failures to 429/503/504 with a retry hint", () => {
		expect(renderError(new Errors.QueueIsFullError({ action: "x", nodeID: "n" }))).toMatchObject({ status: 429, headers: { "Retry-After": "1" } });
		expect(renderError(new Errors.ServiceNotFoundError({ action: "hunts.get" })).status).toBe(503);
		expect(renderError(new Errors.RequestTimeoutError({ action: "x", nodeID: "n" })).status).toBe(504);
	});

	it("hides everything about unexpected errors", () => {
		const err = new TypeError("Cannot read properties of undefined (reading 'secret') at /app/dist/x.js:1");
		const rendered = renderError(err);
		expect(rendered.status).toBe(500);
		expect(rendered.unexpected).toBe(true);
		expect(JSON.stringify(rendered.body)).not.toMatch(/secret|\/app\/dist|stack/);
		expect(rendered.body.error.code).toBe("INTERNAL_ERROR");
	});

	it("does not trust a made-up status on a foreign error", () => {
		expect(renderError({ name: "Error", message: "boom", code: 418, type: "TEAPOT" }).status).toBe(500);
	});
});
