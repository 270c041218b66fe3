/**
 * Gives a service its own database: a schema named after the service (or the database in
 * <SERVICE>_DATABASE_URL), migrated to the newest version before the service starts taking calls.
 * Domain modules receive `db` (a SqlClient) and never see Moleculer.
 *
 * With it come the platform's messaging pieces for that schema: `outbox` (messages written in the
 * transaction of the state change they are about), the relay that sends them once the channels are
 * up, `inbox` (consumers act once per message id) and `idempotency` (Idempotency-Key).
 *
 * The service factory creates the handle from the node's backends (passed to it explicitly) and
 * adds `handle.mixin()` to its schema; handlers use the handle from the factory's closure. The
 * handle is also published on the service instance as `database`, for the REPL and tests.
 */
import type { Context, Service, ServiceSchema } from "moleculer";
import { sendToChannel } from "../platform/channels";
import { channelMessageOf } from "../platform/moleculer/channel-security";
import { IdempotencyKeys } from "../platform/outbox/idempotency";
import { Inbox } from "../platform/outbox/inbox";
import { Outbox, type MessageWriter } from "../platform/outbox/outbox";
import { OutboxRelay } from "../platform/outbox/relay";
import type { Migration, SqlClient } from "../platform/sql";
import type { NodeBackends } from "../platform/runtime/node-backends";
import { every, type PeriodicTask } from "../platform/runtime/periodic";

const HOUSEKEEPING_INTERVAL_MS = 3600_000;

export class ServiceDatabase {
	db!: SqlClient;
	outbox!: Outbox;
	inbox!: Inbox;
	idempotency!: IdempotencyKeys;
	relay?: OutboxRelay;
	private housekeeping?: PeriodicTask;

	constructor(
		private readonly backends: NodeBackends,
		readonly service: string,
		private readonly migrations: readonly Migration[],
	) {}

	/** Schema-qualified, quoted table name in this service's schema. */
	table(name: string): string {
		return `"${this.service}"."${name}"`;
	}

	/**
	 * A channel handler's work, done once per message id (redeliveries are skipped) in one
	 * transaction with the messages it writes.
	 */
	consumeOnce(ctx: Context, work: (messages: MessageWriter, db: SqlClient) => Promise<void>): Promise<boolean> {
		const message = channelMessageOf(ctx);
		// Thrown, so the message is retried then dead-lettered: acting on it could not be made once-only.
		if (!message) throw new Error(`${this.service}: consumeOnce needs a verified message (its channel must be declared in a contract)`);
		if (!message.id) throw new Error(`${this.service}: a message from ${message.sender} without a signed message id (not sent through an outbox)`);
		return this.inbox.once(this.service, message.id, work);
	}

	private async open(service: Service): Promise<void> {
		this.db = await this.backends.database(this.service, this.migrations);
		this.outbox = new Outbox(this.db, this.service);
		this.inbox = new Inbox(this.db, this.service, this.outbox);
		this.idempotency = new IdempotencyKeys(this.db, this.service);
		const sender = this.service;
		const relay = new OutboxRelay(
			this.outbox,
			message => sendToChannel(service.broker, message.channel, message.payload, { sender, messageId: message.id, ...(message.partitionKey ? { key: message.partitionKey } : {}) }),
			this.backends.config.outbox,
			service.logger,
		);
		this.relay = relay;
		// The channels connect after every service has started (and after `$broker.started`): the relay
		// waits for the whole start, which a service created later finds done.
		void this.backends.started.then(() => relay.start());
		this.housekeeping = every(
			HOUSEKEEPING_INTERVAL_MS,
			// PGlite runs no autovacuum: without fresh statistics its planner scans tables it could index.
			() => Promise.all([this.inbox.purge(), this.idempotency.purge(), this.db.engine === "pglite" ? this.db.exec(`analyze`) : undefined]),
			err => service.logger.warn(`Inbox and idempotency key purge failed: ${err.message}`),
		);
	}

	private async close(): Promise<void> {
		this.housekeeping?.stop();
		// Before the channels disconnect (they stop after the services): the send under way finishes.
		await this.relay?.stop();
	}

	/** The lifecycle part: opened (and migrated) before the service's own `started`, closed after its `stopped`. */
	mixin(): Partial<ServiceSchema> {
		const open = (service: Service) => {
			Object.assign(service, { database: this });
			return this.open(service);
		};
		const close = () => this.close();
		return {
			async started(this: Service) {
				await open(this);
			},
			stopped: close,
		};
	}
}
