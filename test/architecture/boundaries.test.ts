/**
 * The layering holds because the linter says so: code under domain/ (and contracts/) that imports
 * Moleculer or the Moleculer wiring fails `npm run lint`. Checked with ESLint's own API on the
 * project's config, as `npm run lint` runs it.
 */
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

async function lint(filePath: string, code: string): Promise<string[]> {
	const { ESLint } = await import("eslint");
	const eslint = new ESLint({ cwd: ROOT });
	const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, filePath) });
	return result.messages.map(message => `${message.ruleId}: ${message.message}`);
}

it("refuses a Moleculer import under domain/", async () => {
	expect(await lint("domain/hunts/example.ts", `import type { Context } from "moleculer";\nexport type C = Context;\n`)).toEqual([
		expect.stringMatching(/^no-restricted-imports: .*domain\/ stays free of Moleculer/),
	]);
	expect(await lint("domain/hunts/example.ts", `import { Middleware } from "@moleculer/channels";\nexport const m = Middleware;\n`)).toEqual([expect.stringMatching(/^no-restricted-imports/)]);
	expect(await lint("contracts/example.ts", `import ApiGateway from "moleculer-web";\nexport const g = ApiGateway;\n`)).toEqual([expect.stringMatching(/^no-restricted-imports/)]);
});

it("refuses the Moleculer wiring under domain/, and allows platform primitives", async () => {
	expect(await lint("domain/hunts/example.ts", `import { userOf } from "../../platform/moleculer/authorization";\nexport const u = userOf;\n`)).toEqual([
		expect.stringMatching(/^no-restricted-imports: .*not the Moleculer wiring/),
	]);
	expect(await lint("domain/hunts/example.ts", `import { AppError } from "../../platform/errors/app-error";\nexport const e = AppError;\n`)).toEqual([]);
});

it("lets services import Moleculer", async () => {
	expect(await lint("services/example.service.ts", `import type { Context } from "moleculer";\nexport type C = Context;\n`)).toEqual([]);
});
