// Lint rules stay close to typescript-eslint's recommended set; tsc (strict) does the type checking.
import tseslint from "typescript-eslint";

/** The layers: domain/ is plain TypeScript; Moleculer and the wiring live in services/, mixins/ and platform/. */
const DOMAIN_BOUNDARY = {
	patterns: [
		{ regex: "^(moleculer(-[\\w-]+)?|@moleculer/.*)$", message: "domain/ stays free of Moleculer: wire it in services/ (or platform/moleculer)." },
		{
			group: ["**/platform/moleculer/**", "**/platform/runtime/**", "**/services/**", "**/mixins/**"],
			message: "domain/ may use platform primitives (sql, errors, outbox, store), not the Moleculer wiring.",
		},
	],
};

export default tseslint.config(
	{ ignores: ["dist/**", "node_modules/**", "data/**", "coverage/**", "jest.config.js"] },
	...tseslint.configs.recommended,
	{
		rules: {
			"@typescript-eslint/no-explicit-any": "off",
			"@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
		},
	},
	{
		files: ["domain/**/*.ts", "contracts/**/*.ts"],
		rules: { "no-restricted-imports": ["error", DOMAIN_BOUNDARY] },
	},
);
