import { AppError } from "../errors/app-error";
import { isInfrastructureFailure } from "./breaker-policy";

const named = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(name), { name, ...extra });

describe("isInfrastructureFailure", () => {
	it("counts unreachable, vanished and slow endpoints", () => {
		for (const name of ["RequestTimeoutError", "ServiceNotAvailableError", "ServiceNotFoundError"]) expect(isInfrastructureFailure(named(name, { code: 503 }))).toBe(true);
		// As Moleculer really makes them: with a type and a numeric code.
		expect(isInfrastructureFailure(named("RequestTimeoutError", { code: 504, type: "REQUEST_TIMEOUT" }))).toBe(true);
		expect(isInfrastructureFailure(named("ServiceNotAvailableError", { code: 404, type: "SERVICE_NOT_AVAILABLE" }))).toBe(true);
		expect(isInfrastructureFailure(new AppError("SERVICE_UNAVAILABLE"))).toBe(true);
		expect(isInfrastructureFailure(new AppError("UPSTREAM_TIMEOUT"))).toBe(true);
	});

	it("counts lost connections and a database that cannot serve", () => {
		expect(isInfrastructureFailure(named("Error", { code: "ECONNREFUSED" }))).toBe(true);
		expect(isInfrastructureFailure(named("error", { code: "57P01" }))).toBe(true); // admin shutdown
		expect(isInfrastructureFailure(named("error", { code: "53300" }))).toBe(true); // too many connections
		expect(isInfrastructureFailure(named("error", { code: "08006" }))).toBe(true); // connection failure
		expect(isInfrastructureFailure(new Error("Connection terminated unexpectedly"))).toBe(true);
	});

	it("never counts what a request's content caused", () => {
		expect(isInfrastructureFailure(new AppError("VALIDATION_FAILED"))).toBe(false);
		expect(isInfrastructureFailure(new AppError("INPUT_TOO_DEEP"))).toBe(false);
		expect(isInfrastructureFailure(named("error", { code: "22021" }))).toBe(false); // invalid byte sequence (NUL)
		expect(isInfrastructureFailure(named("error", { code: "23505" }))).toBe(false); // unique violation
		expect(isInfrastructureFailure(new RangeError("Maximum call stack size exceeded"))).toBe(false);
		expect(isInfrastructureFailure(new TypeError("x is not a function"))).toBe(false);
		expect(isInfrastructureFailure(named("ValidationError", { code: 422 }))).toBe(false);
		expect(isInfrastructureFailure(undefined)).toBe(false);
		// A message that merely quotes what a client sent (field names, values) counts for nothing.
		expect(isInfrastructureFailure(new AppError("INPUT_TOO_DEEP", "Nested too deep at Connection terminated.Connection terminated"))).toBe(false);
		expect(isInfrastructureFailure(new AppError("VALIDATION_FAILED", "Connection terminated"))).toBe(false);
		expect(isInfrastructureFailure(named("ValidationError", { code: 422, type: "VALIDATION_ERROR", message: "Connection terminated" }))).toBe(false);
		expect(isInfrastructureFailure(new Error("The 'Connection terminated' field is required"))).toBe(false);
	});
});
