import { ERROR_CODES, RETIRED_ERROR_CODES, isErrorCode } from "./codes";
import { AppError } from "./app-error";

describe("error code registry", () => {
	it("never reuses a retired code", () => {
		for (const retired of RETIRED_ERROR_CODES) expect(Object.keys(ERROR_CODES)).not.toContain(retired);
	});

	it("gives every code an HTTP error status and a message", () => {
		for (const [code, { status, message }] of Object.entries(ERROR_CODES)) {
			expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
			expect(status).toBeGreaterThanOrEqual(400);
			expect(status).toBeLessThan(600);
			expect(message.length).toBeGreaterThan(5);
		}
	});

	it("keeps the statuses clients were promised", () => {
		// Changing one of these breaks clients: add a new code instead.
		expect(ERROR_CODES.MALFORMED_JSON.status).toBe(400);
		expect(ERROR_CODES.UNAUTHENTICATED.status).toBe(401);
		expect(ERROR_CODES.FORBIDDEN.status).toBe(403);
		expect(ERROR_CODES.ROUTE_NOT_FOUND.status).toBe(404);
		expect(ERROR_CODES.CONFLICT.status).toBe(409);
		expect(ERROR_CODES.PAYLOAD_TOO_LARGE.status).toBe(413);
		expect(ERROR_CODES.VALIDATION_FAILED.status).toBe(422);
		expect(ERROR_CODES.RATE_LIMITED.status).toBe(429);
		// The play contract (PRODUCT.md, "Hunts and play").
		expect(ERROR_CODES.ALREADY_JOINED.status).toBe(409);
		expect(ERROR_CODES.HUNT_FULL.status).toBe(409);
		expect(ERROR_CODES.HUNT_NOT_RUNNING.status).toBe(409);
		expect(ERROR_CODES.JOIN_CODE_INVALID.status).toBe(403);
		expect(ERROR_CODES.TOO_MANY_ATTEMPTS.status).toBe(429);
		expect(ERROR_CODES.NO_MORE_HINTS.status).toBe(409);
		// The rewards contract (PRODUCT.md).
		expect(ERROR_CODES.REWARD_EXHAUSTED.status).toBe(409);
		expect(ERROR_CODES.ALREADY_CLAIMED.status).toBe(409);
		expect(ERROR_CODES.NOT_ELIGIBLE.status).toBe(403);
		expect(ERROR_CODES.ALREADY_REDEEMED.status).toBe(409);
		expect(ERROR_CODES.CODE_UNKNOWN.status).toBe(404);
		// The live notifications stream and WebSocket (README, "Live notifications").
		expect(ERROR_CODES.INVALID_LAST_EVENT_ID.status).toBe(400);
		expect(ERROR_CODES.TOO_MANY_CONNECTIONS.status).toBe(429);
		expect(ERROR_CODES.LIVE_CAPACITY_REACHED.status).toBe(503);
	});

	it("builds AppErrors that carry code, status and details", () => {
		const err = new AppError("CONFLICT", "Reward out of stock", { rewardId: "r1" });
		expect(err.type).toBe("CONFLICT");
		expect(err.code).toBe(409);
		expect(err.data).toEqual({ rewardId: "r1" });
		expect(err.retryable).toBe(false);
		expect(isErrorCode("CONFLICT")).toBe(true);
		expect(isErrorCode("toString")).toBe(false);
	});
});
