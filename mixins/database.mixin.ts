/**
 * Gives a service its own database: a schema named after the service (or the database in
 * <SERVICE>_DATABASE_URL), migrated to the newest version before the service starts taking calls.
 * Domain modules receive `this.db` (a SqlClient) and never see Moleculer.
 */
import type { ServiceSchema } from "moleculer";
import type { Migration, SqlClient } from "../lib/sql";
import { nodeBackends } from "../lib/runtime/node-backends";

export interface DatabaseServiceThis {
	db: SqlClient;
	/** Schema-qualified, quoted table name in this service's schema. */
	table(name: string): string;
}

export function DatabaseMixin(migrations: readonly Migration[]): Partial<ServiceSchema> {
	return {
		methods: {
			table(this: { name: string }, name: string): string {
				return `"${this.name}"."${name}"`;
			},
		},
		async started(this: any) {
			this.db = await nodeBackends(this.broker).database(this.name, migrations);
		},
	};
}
