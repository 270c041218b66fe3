/**
 * Moleculer's own internal middleware of that name, made for `broker`: what our replacements keep
 * (series registration, event hooks) and what the middleware list and benches fall back to.
 * Moleculer exports the factories at runtime; its typings do not declare them.
 */
import * as Moleculer from "moleculer";
import type { Middleware, ServiceBroker } from "moleculer";

export type StockMiddleware = Middleware & Record<string, unknown> & { name?: string };

const FACTORIES = (Moleculer as unknown as { Middlewares: Record<string, (this: ServiceBroker, broker: ServiceBroker) => StockMiddleware> }).Middlewares;

export function stockMiddleware(name: string, broker: ServiceBroker): StockMiddleware {
	return FACTORIES[name].call(broker, broker);
}
