import fs from "node:fs";
import path from "node:path";
import { ENVIRONMENT_VARIABLES } from "../../platform/config/env";
import packageJson from "../../package.json";

const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");

describe("README", () => {
	it("documents every environment variable the platform reads", () => {
		const undocumented = ENVIRONMENT_VARIABLES.filter(name => !readme.includes(`| \`${name}\` |`));
		expect(undocumented).toEqual([]);
	});

	it("documents every npm script", () => {
		const scripts = Object.keys(packageJson.scripts).filter(name => !name.startsWith("pre"));
		const undocumented = scripts.filter(name => !readme.includes(name === "start" || name === "test" ? `npm ${name}` : `npm run ${name}`));
		expect(undocumented).toEqual([]);
	});
});
