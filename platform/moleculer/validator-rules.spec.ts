import { ServiceBroker } from "moleculer";
import { Defaulted, T, withValidation } from "../../contracts/kit";
import { authContract } from "../../contracts/auth";
import { usersContract } from "../../contracts/users";
import { validatorRulesOf } from "./validator-rules";

describe("contract params as fastest-validator rules", () => {
	it("translates each JSON Schema keyword a contract uses", () => {
		const rules = validatorRulesOf(
			T.Object(
				{
					id: T.String({ format: "uuid" }),
					name: withValidation(T.String({ minLength: 2, maxLength: 120, pattern: "^[a-z]+$" }), { trim: true }),
					website: T.Optional(T.Union([T.String({ format: "uri", maxLength: 2048 }), T.Null()])),
					status: T.Optional(T.Union([T.Literal("pending"), T.Literal("verified")])),
					limit: Defaulted(withValidation(T.Integer({ minimum: 1, maximum: 200 }), { convert: true }), 50),
					tags: T.Array(T.String(), { maxItems: 3 }),
				},
				{ additionalProperties: false },
			),
		);
		expect(rules).toEqual({
			$$strict: true,
			id: { type: "uuid" },
			name: { type: "string", min: 2, max: 120, pattern: "^[a-z]+$", patternFlags: "u", trim: true },
			website: { type: "url", max: 2048, nullable: true, optional: true },
			status: { type: "enum", values: ["pending", "verified"], optional: true },
			limit: { type: "number", integer: true, min: 1, max: 200, optional: true, default: 50, convert: true },
			tags: { type: "array", items: { type: "string" }, max: 3 },
		});
	});

	it("drops unknown fields unless the schema refuses them", () => {
		expect(validatorRulesOf(T.Object({})).$$strict).toBe("remove");
	});

	it("fails when the service is built, not at request time, on a schema it cannot translate", () => {
		expect(() => validatorRulesOf(T.Object({ when: T.Date() }))).toThrow(/"when": no validator rule for a Date schema/);
	});

	describe("through Moleculer's validator, as the services use it", () => {
		const broker = new ServiceBroker({ logger: false });
		const validate = (params: Parameters<typeof validatorRulesOf>[0], value: Record<string, unknown>) => {
			const validator = broker.validator;
			if (!validator) throw new Error("the broker has no validator");
			const check = validator.compile(validatorRulesOf(params) as never) as (value: unknown) => true | Array<{ field: string; type: string }>;
			const result = check(value);
			return result === true ? { ok: true, value } : { ok: false, problems: result.map(problem => `${problem.field}:${problem.type}`) };
		};

		it("keeps the identity rules: trimmed printable display names, real email addresses, passwords bounded", () => {
			const register = authContract.actions.register.params;
			expect(validate(register, { email: "ada@example.com", password: "pw", displayName: "  Ada  " })).toEqual({ ok: true, value: { email: "ada@example.com", password: "pw", displayName: "Ada" } });
			expect(validate(register, { email: "ada@exa\u202Emple.com", password: "pw", displayName: "Ada" })).toMatchObject({ ok: false, problems: ["email:printable"] });
			expect(validate(register, { email: "ada@example.com", password: "pw", displayName: "A\u202Eda" })).toMatchObject({ ok: false, problems: ["displayName:stringPattern"] });
			expect(validate(register, { email: "ada@example.com", password: "x".repeat(257), displayName: "Ada" })).toMatchObject({ ok: false, problems: ["password:stringMax"] });
		});

		it("refuses an http avatar and unknown profile fields", () => {
			const update = usersContract.actions.updateMe.params;
			expect(validate(update, { avatarUrl: null })).toMatchObject({ ok: true });
			expect(validate(update, { avatarUrl: "http://example.com/a.png" })).toMatchObject({ ok: false, problems: ["avatarUrl:urlHttps"] });
			expect(validate(update, { isAdmin: true })).toMatchObject({ ok: false, problems: [expect.stringContaining("objectStrict")] });
		});
	});
});
