/**
 * The documentation page: Swagger UI served from our own origin, under a strict CSP.
 */
import path from "node:path";
import { escapeHtml, htmlPage } from "../html";

/** Where swagger-ui-dist's files are; the gateway serves this folder at the page's `assetsBase`. */
export const swaggerUiAssetsDir: string = path.dirname(require.resolve("swagger-ui-dist/package.json"));

/**
 * Name under `assetsBase` at which the gateway serves `renderDocsInitializer(specUrl)`.
 * Distinct from swagger-ui-dist's own `swagger-initializer.js`, which points at the Petstore demo.
 */
export const DOCS_INITIALIZER_FILE = "lootopia-docs-init.js";

const trimTrailingSlash = (url: string): string => url.replace(/\/+$/, "");

/** The page holds no inline script or style, so it works under `script-src 'self'; style-src 'self'`. */
export function renderDocsPage(opts: { specUrl: string; assetsBase: string; title: string }): string {
	const base = trimTrailingSlash(opts.assetsBase);
	const title = escapeHtml(opts.title);
	return htmlPage(
		opts.title,
		[
			`<div id="swagger-ui"><noscript>${title}: this page needs JavaScript. The raw document is at <a href="${escapeHtml(opts.specUrl)}">${escapeHtml(opts.specUrl)}</a>.</noscript></div>`,
			`<script src="${escapeHtml(`${base}/swagger-ui-bundle.js`)}"></script>`,
			`<script src="${escapeHtml(`${base}/${DOCS_INITIALIZER_FILE}`)}"></script>`,
		],
		[`<link rel="stylesheet" href="${escapeHtml(`${base}/swagger-ui.css`)}">`],
	);
}

/** The script the page loads after swagger-ui-bundle.js; serve it as `${assetsBase}/${DOCS_INITIALIZER_FILE}`. */
export function renderDocsInitializer(specUrl: string): string {
	// JSON.stringify makes a safe JS string literal; "<" is escaped too in case someone inlines it after all.
	const url = JSON.stringify(specUrl).replace(/</g, "\\u003c");
	return [
		'"use strict";',
		'window.addEventListener("load", function () {',
		"\twindow.ui = SwaggerUIBundle({",
		`\t\turl: ${url},`,
		'\t\tdom_id: "#swagger-ui",',
		"\t\tdeepLinking: true,",
		"\t\tpresets: [SwaggerUIBundle.presets.apis],",
		'\t\tlayout: "BaseLayout",',
		"\t});",
		"});",
		"",
	].join("\n");
}
