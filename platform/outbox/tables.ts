/**
 * Tables every service's schema gets beside its own, on the "platform" migration track (see
 * runMigrations): the outbox its state changes write their messages to, the inbox its consumers
 * record handled messages in, and the Idempotency-Key results of its create operations.
 */
import type { Migration } from "../sql";

export const PLATFORM_MIGRATION_TRACK = "platform";

export const PLATFORM_MIGRATIONS: readonly Migration[] = [
	{
		version: 1,
		name: "outbox, inbox and idempotency keys",
		up: `
			create table outbox (
				seq bigint generated always as identity primary key,
				-- The message id consumers deduplicate by; signed into the message.
				id uuid not null unique,
				channel text not null,
				-- JSON text, sent as written: jsonb would refuse \\u0000 and reorder keys.
				payload text not null,
				-- Kafka message key: messages with one key keep their order within a partition.
				partition_key text,
				created_at timestamptz not null default now(),
				-- Due from then: a relay's claim pushes it ahead by its lease, a failure by the backoff.
				available_at timestamptz not null default now(),
				-- The relay holding it while its lease runs: only that relay may record its outcome.
				claimed_by text,
				attempts integer not null default 0,
				last_error text
			);
			create index outbox_due on outbox (available_at, seq);

			create table inbox (
				consumer text not null,
				message_id uuid not null,
				received_at timestamptz not null default now(),
				primary key (consumer, message_id)
			);
			create index inbox_received on inbox (received_at);

			create table idempotency_keys (
				scope text not null,
				key text not null,
				-- A hash of the request, so the key cannot be reused for a different one.
				fingerprint text not null,
				response text,
				created_at timestamptz not null default now(),
				primary key (scope, key)
			);
			create index idempotency_keys_created on idempotency_keys (created_at);
		`,
	},
];
