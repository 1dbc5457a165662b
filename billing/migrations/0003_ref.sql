-- Reference data, imported with `billing accounts import` / `billing tiers import`.

create table if not exists ref.accounts (
    tenant_id uuid primary key,
    name text not null check (length(name) between 1 and 200),
    currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
    billing_email text not null check (billing_email like '%_@_%'),
    activated_on date not null,
    deactivated_on date,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    updated_by text not null default session_user,
    check (deactivated_on is null or deactivated_on > activated_on)
);
comment on table ref.accounts is
    'One row per tenant account. An account is active on days activated_on <= day < deactivated_on.';

create table if not exists ref.account_tiers (
    tenant_id uuid not null references ref.accounts (tenant_id),
    account_tier text not null check (length(account_tier) between 1 and 64),
    effective_from date not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    updated_by text not null default session_user,
    primary key (tenant_id, effective_from)
);
comment on table ref.account_tiers is
    'Tier history: the tier in force on a day is the row with the latest effective_from <= day.';

-- Which login role is which tenant. Read only through billing.current_tenant_id().
create table if not exists ref.tenant_logins (
    login_role name primary key,
    tenant_id uuid not null references ref.accounts (tenant_id),
    created_at timestamptz not null default now()
);
comment on table ref.tenant_logins is
    'Maps a tenant login role (member of billing_tenant) to its tenant; unmapped logins see nothing.';

grant select on ref.accounts, ref.account_tiers
    to billing_transformer, billing_renderer, billing_finance, billing_auditor;
grant select on ref.tenant_logins to billing_finance, billing_auditor;
