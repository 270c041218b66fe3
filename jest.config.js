/**
 * Jest runs TypeScript through ts-jest in transpile-only mode (isolatedModules in tsconfig): type errors are caught by
 * `npm run lint` (tsc), so the test run stays fast on a 2-core machine.
 * PGlite loads its WASM through a dynamic import(), which needs --experimental-vm-modules
 * (set by the `test` script in package.json).
 */
/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: "node",
	roots: ["<rootDir>/platform", "<rootDir>/domain", "<rootDir>/contracts", "<rootDir>/services", "<rootDir>/mixins", "<rootDir>/test"],
	testMatch: ["**/*.spec.ts", "**/*.test.ts"],
	transform: {
		"^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.check.json" }],
	},
	moduleFileExtensions: ["ts", "js", "json"],
	globalSetup: "<rootDir>/test/setup/global-setup.ts",
	globalTeardown: "<rootDir>/test/setup/global-teardown.ts",
	setupFiles: ["<rootDir>/test/setup/env.ts"],
	testTimeout: 60000,
	maxWorkers: 2,
};
