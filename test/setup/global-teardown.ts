/** Repeats, after jest's own report, which backends were missing and how to bring them up. */
export default async function globalTeardown(): Promise<void> {
	const summary = process.env.LOOTOPIA_TEST_BACKENDS_SUMMARY;
	if (summary) process.stdout.write(`\n${summary}`);
}
