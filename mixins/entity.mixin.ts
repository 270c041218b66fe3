/**
 * An entity service on moleculer-db (CRUD actions, paging, sorting, search, field filtering) whose
 * table lives in the service's own schema, created by its migrations. Call it inside the service
 * factory: each broker gets its own adapter.
 */
import type { ServiceSchema } from "moleculer";
import DbService from "moleculer-db";
import type { Migration } from "../platform/sql";
import { SqlDbAdapter } from "../platform/sql/moleculer-db-adapter";
import { nodeBackends } from "../platform/runtime/node-backends";

export interface EntityMixinOptions {
	table: string;
	migrations: readonly Migration[];
	idField?: string;
}

export function EntityMixin(options: EntityMixinOptions): Partial<ServiceSchema> {
	return {
		mixins: [DbService as unknown as ServiceSchema],
		adapter: new SqlDbAdapter({
			table: options.table,
			idField: options.idField,
			database: service => nodeBackends(service.broker as never).database(service.name, options.migrations),
		}),
		settings: { idField: options.idField ?? "id" },
		methods: {
			/** Several writes in one transaction, e.g. a claim and its stock decrement. */
			transaction(this: { adapter: SqlDbAdapter }, work: Parameters<SqlDbAdapter["transaction"]>[0]) {
				return this.adapter.transaction(work);
			},
		},
	} as Partial<ServiceSchema>;
}
