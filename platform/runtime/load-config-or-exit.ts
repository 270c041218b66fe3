import { AppConfig, ConfigError, loadConfig } from "../config/env";

/** For the process entry points: an invalid environment ends the process with the list of problems, no stack. */
export function loadConfigOrExit(): AppConfig {
	try {
		return loadConfig();
	} catch (err) {
		if (err instanceof ConfigError) {
			process.stderr.write(`${err.message}\n`);
			process.exit(1);
		}
		throw err;
	}
}
