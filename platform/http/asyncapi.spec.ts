import { Parser } from "@asyncapi/parser";
import { CONTRACTS } from "../../contracts";
import { asyncApiId, buildAsyncApiDocument, renderEventCataloguePage } from "./asyncapi";

const input = {
	contracts: CONTRACTS,
	version: "1.2.3",
	namespace: "lootopia",
	serializer: "JSON",
	transporter: "nats://nats-a:4222,nats-b:4222",
	channelsBackend: "kafka://kafka-1:9092,kafka-2:9092",
};
const document = buildAsyncApiDocument(input);

const declared = Object.values(CONTRACTS).flatMap(contract => [
	...Object.entries(contract.events).map(([name, event]) => ({ name, payload: event.payload, publishers: [contract.service], delivery: "broker-event" })),
	...Object.entries(contract.channels as Record<string, { payload: unknown; publishers?: string[] }>).map(([name, channel]) => ({
		name,
		payload: channel.payload,
		publishers: channel.publishers ?? [contract.service],
		delivery: "durable-channel",
	})),
]);

it("is a valid AsyncAPI 3 document by the reference parser, with no warnings", async () => {
	const { document: parsed, diagnostics } = await new Parser().parse(JSON.stringify(document));
	expect(diagnostics.map(d => `${d.severity} ${d.code}: ${d.message} at ${d.path.join(".")}`)).toEqual([]);
	expect(parsed?.version()).toBe("3.1.0");
	expect(
		parsed
			?.channels()
			.all()
			.map(channel => channel.messages().all()[0].name())
			.sort(),
	).toEqual(declared.map(d => d.name).sort());
});

it("publishes each declared event and channel with its payload schema, publishers and delivery", () => {
	const messages = (document.components as { messages: Record<string, Record<string, unknown>> }).messages;
	expect(declared.length).toBeGreaterThan(10);
	for (const { name, payload, publishers, delivery } of declared) {
		expect(messages[asyncApiId(name)]).toMatchObject({ name, payload: JSON.parse(JSON.stringify(payload)), "x-publishers": publishers, "x-delivery": delivery });
	}
	expect(messages[asyncApiId("audit.facts")]["x-publishers"]).toEqual(["auth", "users", "partners", "hunts", "gameplay", "rewards"]);
});

it("names the cluster a subscriber joins: transporter servers, namespace, serializer; credentials never", () => {
	expect(document.servers).toMatchObject({ cluster: { protocol: "nats", host: "nats-a:4222,nats-b:4222" }, channels: { protocol: "kafka", host: "kafka-1:9092,kafka-2:9092" } });
	expect(JSON.stringify(document.servers)).toContain("namespace `lootopia` and serializer `JSON`");
	const alone = buildAsyncApiDocument({ ...input, transporter: undefined, channelsBackend: "embedded://" });
	expect(alone.servers).toMatchObject({ cluster: { host: "in-process" }, channels: { protocol: "embedded" } });
	const withSecret = buildAsyncApiDocument({ ...input, transporter: "nats://user:***@nats:4222" });
	expect(JSON.stringify(withSecret)).not.toContain("user:");
});

it("renders a page listing every event, with everything escaped", () => {
	const page = renderEventCataloguePage(document, "/api/asyncapi.json");
	for (const { name } of declared) expect(page).toContain(`<code>${name}</code>`);
	expect(page).not.toMatch(/<script|style=/);
	const hostile = buildAsyncApiDocument({ ...input, namespace: "<img src=x onerror=alert(1)>" });
	expect(renderEventCataloguePage(hostile, "/api/asyncapi.json")).not.toContain("<img");
});
