/**
 * How an action tells the gateway which status to answer with (moleculer-web reads `$statusCode`,
 * `$location` from meta), so services say "created" or "no content" instead of poking meta.
 */
import type { Context } from "moleculer";

interface ResponseMeta {
	$statusCode?: number;
	$location?: string;
}

/** 201 with a Location header: what a create answers. */
export function created<T>(ctx: Context, location: string, body: T): T {
	Object.assign(ctx.meta as ResponseMeta, { $statusCode: 201, $location: location });
	return body;
}

/** 204: done, nothing to say. */
export function noContent(ctx: Context): void {
	(ctx.meta as ResponseMeta).$statusCode = 204;
}
