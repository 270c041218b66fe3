/**
 * The pages the gateway serves itself (the API docs, the event catalogue): everything interpolated
 * is escaped, and a page holds no inline script or style, so it works under a strict CSP.
 */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, char => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[char] ?? char);

/** A whole page: `title` is escaped here, `head` and `body` are markup already escaped by the caller. */
export function htmlPage(title: string, body: readonly string[], head: readonly string[] = []): string {
	return [
		"<!doctype html>",
		'<html lang="en">',
		"<head>",
		'<meta charset="utf-8">',
		'<meta name="viewport" content="width=device-width, initial-scale=1">',
		`<title>${escapeHtml(title)}</title>`,
		...head,
		"</head>",
		"<body>",
		...body,
		"</body>",
		"</html>",
		"",
	].join("\n");
}
