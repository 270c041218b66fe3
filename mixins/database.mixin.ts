/**
 * Gives a service its own database: a schema named after the service (or the database in
 * <SERVICE>_DATABASE_URL), migrated to the newest version before the service starts taking calls.
 * Domain modules receive `this.db` (a SqlClient) and never see Moleculer.
 *
 * With it come the platform's messaging pieces for that schema: `this.outbox` (messages written in
 * the transaction of the state change they are about), the relay that sends them once the channels
 * are up, `this.inbox` (consumers act once per message id) and `this.idempotency` (Idempotency-Key).
 */
import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import { sendToChannel } from "../platform/channels";
import { channelMessageOf } from "../platform/moleculer/channel-security";
import { IdempotencyKeys } from "../platform/outbox/idempotency";
import { Inbox } from "../platform/outbox/inbox";
import { Outbox, type MessageWriter } from "../platform/outbox/outbox";
import { OutboxRelay } from "../platform/outbox/relay";
import type { Migration, SqlClient } from "../platform/sql";
import { nodeBackends } from "../platform/runtime/node-backends";
import { every, type PeriodicTask } from "../platform/runtime/periodic";

export interface DatabaseServiceThis {
	db: SqlClient;
	/** Schema-qualified, quoted table name in this service's schema. */
	table(name: string): string;
	outbox: Outbox;
	inbox: Inbox;
	idempotency: IdempotencyKeys;
	relay: OutboxRelay;
	/**
	 * A channel handler's work, done once per message id (redeliveries are skipped) in one
	 * transaction with the messages it writes.
	 */
	consumeOnce(ctx: Context, work: (messages: MessageWriter, db: SqlClient) => Promise<void>): Promise<boolean>;
}

const HOUSEKEEPING_INTERVAL_MS = 3600_000;

interface MixinThis extends DatabaseServiceThis {
	name: string;
	broker: ServiceBroker;
	logger: { warn(message: string): void; error(message: string): void };
	housekeeping?: PeriodicTask;
}

export function DatabaseMixin(migrations: readonly Migration[]): Partial<ServiceSchema> {
	const mixin = {
		methods: {
			table(this: { name: string }, name: string): string {
				return `"${this.name}"."${name}"`;
			},
			consumeOnce(this: MixinThis, ctx: Context, work: (messages: MessageWriter, db: SqlClient) => Promise<void>): Promise<boolean> {
				const message = channelMessageOf(ctx);
				// Thrown, so the message is retried then dead-lettered: acting on it could not be made once-only.
				if (!message) throw new Error(`${this.name}: consumeOnce needs a verified message (its channel must be in CHANNEL_PUBLISHERS)`);
				if (!message.id) throw new Error(`${this.name}: a message from ${message.sender} without a signed message id (not sent through an outbox)`);
				return this.inbox.once(this.name, message.id, work);
			},
		},
		async started(this: MixinThis) {
			const backends = nodeBackends(this.broker);
			this.db = await backends.database(this.name, migrations);
			this.outbox = new Outbox(this.db, this.name);
			this.inbox = new Inbox(this.db, this.name, this.outbox);
			this.idempotency = new IdempotencyKeys(this.db, this.name);
			const sender = this.name;
			this.relay = new OutboxRelay(
				this.outbox,
				message => sendToChannel(this.broker, message.channel, message.payload, { sender, messageId: message.id, ...(message.partitionKey ? { key: message.partitionKey } : {}) }),
				backends.config.outbox,
				this.logger,
			);
			// The channels connect after every service has started (and after `$broker.started`): the relay
			// waits for the whole start, which a service created later finds done.
			void backends.started.then(() => this.relay.start());
			this.housekeeping = every(
				HOUSEKEEPING_INTERVAL_MS,
				() => Promise.all([this.inbox.purge(), this.idempotency.purge()]),
				err => this.logger.warn(`Inbox and idempotency key purge failed: ${err.message}`),
			);
		},
		async stopped(this: MixinThis) {
			this.housekeeping?.stop();
			// Before the channels disconnect (they stop after the services): the send under way finishes.
			await this.relay?.stop();
		},
	};
	// Moleculer types lifecycle handlers' `this` as a bare Service; ours has the members set up above.
	return mixin as unknown as Partial<ServiceSchema>;
}
