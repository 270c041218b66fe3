import { ServiceBroker } from "moleculer";
import { AccessControlMixin, isValidAccess } from "./access-control.mixin";

it("knows the four kinds of access and the partner-scoped form", () => {
	for (const access of ["public", "user", "admin", "service", { partner: "member" }, { partner: "owner", param: "partnerId" }]) expect(isValidAccess(access)).toBe(true);
	for (const access of [undefined, null, "everyone", { partner: "viewer" }, { partner: "owner", param: 3 }, {}]) expect(isValidAccess(access)).toBe(false);
});

it("refuses to create a guarded service with an action that says nothing of its callers", () => {
	const broker = new ServiceBroker({ logger: false });
	const guarded = (access: unknown) => ({ name: `svc-${Math.random().toString(36).slice(2)}`, mixins: [AccessControlMixin()], actions: { act: { access, handler: () => "ok" } } });
	expect(() => broker.createService(guarded({ partner: "editor", param: "partnerId" }) as never)).not.toThrow();
	expect(() => broker.createService(guarded(undefined) as never)).toThrow(/actions without a valid access declaration: act/);
	expect(() => broker.createService(guarded({ partner: "boss" }) as never)).toThrow(/act/);
});
