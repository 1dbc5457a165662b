-- Landing tables of the loader. Append-only: the loader may INSERT (COPY) and nothing else.

create table if not exists raw.message_charged (
    stream_sequence bigint primary key,
    subject text not null,
    event_id uuid not null,
    event_type text not null,
    occurred_at timestamptz not null,
    tenant_id uuid not null,
    message_id text not null,
    operator_id text not null,
    direction text not null,
    segments integer not null,
    country text,
    attributes jsonb,
    payload jsonb not null,
    landed_at timestamptz not null default now()
);
comment on table raw.message_charged is
    'One row per landed billing.message.charged.v1 stream message (valid by contract). '
    'Duplicates by event_id are kept here and removed in staging. Key: stream_sequence.';
comment on column raw.message_charged.stream_sequence is 'JetStream sequence in stream BILLING.';
comment on column raw.message_charged.payload is 'The event as published (unknown fields kept).';

create table if not exists raw.rejected_messages (
    rejected_id bigint generated always as identity primary key,
    stream_sequence bigint not null unique,
    subject text not null,
    payload bytea not null,
    reason text not null,
    rejected_at timestamptz not null default now()
);
comment on table raw.rejected_messages is
    'Stream messages that failed the contract: original bytes and a readable reason. Nothing '
    'is dropped silently. Key: stream_sequence.';

create table if not exists raw.loader_checkpoints (
    consumer_name text primary key,
    stream_name text not null,
    last_stream_sequence bigint not null,
    updated_at timestamptz not null default now()
);
comment on table raw.loader_checkpoints is
    'Highest stream sequence committed per durable consumer, written in the same transaction '
    'as the rows: a redelivered message at or below it is acknowledged and never landed twice.';

grant insert on raw.message_charged, raw.rejected_messages to billing_loader;
grant select, insert, update on raw.loader_checkpoints to billing_loader;
grant select on all tables in schema raw to billing_transformer, billing_finance, billing_auditor;
