/**
 * One of several processes racing for an embedded database folder's lock (folder-lock.spec.ts):
 * waits for the start time it is given, tries once, reports "won" or "lost", and holds a won lock
 * long enough for every other contender to have tried.
 */
import { lockFolder } from "../../platform/sql/folder-lock";

const [dir, startAt] = process.argv.slice(2);
const wait = Number(startAt) - Date.now();
setTimeout(
	() => {
		try {
			const release = lockFolder(dir);
			process.stdout.write("won\n");
			setTimeout(() => {
				release();
				process.exit(0);
			}, 1_500);
		} catch (err) {
			process.stdout.write(err instanceof Error && err.name === "EmbeddedDatabaseInUseError" ? "lost\n" : `error ${String(err)}\n`);
			process.exit(0);
		}
	},
	Math.max(0, wait),
);
