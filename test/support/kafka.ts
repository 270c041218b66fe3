import { Kafka, logLevel } from "kafkajs";

/** Deletes the topics a run made: every channel name starts with its namespace and a dot. */
export async function deleteKafkaTopics(url: string, namespace: string): Promise<void> {
	const brokers = url.replace(/^kafka:\/\//, "").split(",");
	const admin = new Kafka({ clientId: "lootopia-test-cleanup", brokers, logLevel: logLevel.NOTHING }).admin();
	await admin.connect();
	try {
		const topics = (await admin.listTopics()).filter(topic => topic.startsWith(`${namespace}.`));
		if (topics.length) await admin.deleteTopics({ topics });
	} finally {
		await admin.disconnect();
	}
}
