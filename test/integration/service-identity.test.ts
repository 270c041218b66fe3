/**
 * Any service, not only auth, calls another service's service-only actions under its own identity:
 * a short machine token for `service:<name>`, signed with the node's ring and reused while fresh.
 */
import { randomUUID } from "node:crypto";
import { callAsService, serviceToken } from "../../platform/moleculer/service-identity";
import { rejectionOf } from "../support/async";
import { startTestNode, type TestNode } from "../support/node";

let node: TestNode;
beforeAll(async () => {
	node = await startTestNode();
});
afterAll(() => node?.stop());

it("lets the partners service call a service-only action as itself, and nobody without a token", async () => {
	expect(await callAsService(node.broker, "partners", "partners.membershipsOf", { userId: randomUUID() })).toEqual({});
	expect(await rejectionOf(node.broker.call("partners.membershipsOf", { userId: randomUUID() }))).toMatchObject({ code: 401 });
});

it("signs a short-lived token naming the service, and reuses it while fresh", async () => {
	const token = await serviceToken(node.broker, "users");
	const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
	expect(claims).toMatchObject({ sub: "service:users", roles: ["service"] });
	expect(claims.exp - claims.iat).toBeLessThanOrEqual(120);
	expect(await serviceToken(node.broker, "users")).toBe(token);
	expect(await serviceToken(node.broker, "partners")).not.toBe(token);
});
