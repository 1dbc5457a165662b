{#- A view, computed when read (`billing ledger --month`, the fault tests): one more model
    over all of raw must not slow the close, and a view costs the build nothing. Internal
    (not tenant_facing): billing_security revokes it from tenants. -#}
{{ config(materialized='view') }}

with

landings as (

    select * from {{ ref('stg_raw__message_landings') }}

),

staged as (

    select * from {{ ref('stg_raw__message_charged') }}

),

rejected as (

    select * from {{ ref('stg_raw__rejected_messages') }}

),

charges as (

    select * from {{ ref('int_charges_priced') }}

),

excluded_events as (

    select * from {{ ref('int_excluded_events') }}

),

issued_invoice_events as (

    select * from {{ ref('stg_issued__invoice_events') }}

),

issued_invoices as (

    select * from {{ ref('stg_issued__invoices') }}

),

invoice_voids as (

    select * from {{ ref('stg_issued__invoice_voids') }}

),

written_off_events as (

    select * from {{ ref('int_written_off_events') }}

),

voids_awaiting_replacement as (

    select * from {{ ref('int_voids_awaiting_replacement') }}

),

period_closes as (

    select * from {{ ref('stg_issued__period_closes') }}

),

closed_periods as (

    select distinct period
    from period_closes
    where kind = 'close'

),

-- Events on an issued invoice that is not void (an event billed twice shows twice).
billed_events as (

    select
        issued_invoice_events.event_id,
        issued_invoice_events.invoice_number,
        issued_invoice_events.line_number,
        issued_invoices.period as invoice_period
    from issued_invoice_events
    inner join issued_invoices
        on issued_invoice_events.invoice_number = issued_invoices.invoice_number
    where
        not exists (
            select 1
            from invoice_voids
            where invoice_voids.invoice_number = issued_invoice_events.invoice_number
        )

),

-- Events of a voided invoice whose replacement is still to be issued (the void's month).
awaiting_replacement as (

    select
        issued_invoice_events.event_id,
        voids_awaiting_replacement.invoice_number
    from voids_awaiting_replacement
    inner join issued_invoice_events
        on voids_awaiting_replacement.invoice_number = issued_invoice_events.invoice_number

),

landed as (

    select
        landings.stream_sequence,
        landings.event_id,
        landings.tenant_id,
        landings.period,
        landings.segments,
        staged.stream_sequence is not null as is_built,
        coalesce(staged.is_duplicate, false) as is_duplicate,
        staged.first_stream_sequence
    from landings
    left join staged
        on landings.stream_sequence = staged.stream_sequence

),

with_fate as (

    select
        landed.*,
        charges.unpriced_reason,
        charges.amount,
        billed_events.invoice_number as billed_invoice_number,
        billed_events.line_number as billed_line_number,
        billed_events.invoice_period,
        written_off_events.invoice_number as written_off_invoice_number,
        written_off_events.line_number as written_off_line_number,
        written_off_events.reason as written_off_reason,
        excluded_events.exclusion_id,
        excluded_events.reason as exclusion_reason,
        {{ dbt.concat(["'awaiting the replacement of '", "awaiting_replacement.invoice_number"]) }}
            as awaiting_reason,
        closed_periods.period is not null as is_period_closed,
        case
            when not landed.is_built then 'unbuilt'
            when landed.is_duplicate then 'duplicate'
            when excluded_events.event_id is not null then 'excluded'
            when billed_events.invoice_period = landed.period then 'invoiced'
            when billed_events.event_id is not null then 'late'
            when written_off_events.event_id is not null then 'written_off'
            when charges.event_id is null then 'unbuilt'
            when charges.unpriced_reason is not null then 'unpriced'
            when awaiting_replacement.event_id is not null then 'pending'
            when closed_periods.period is not null then 'late'
            else 'pending'
        end as fate
    from landed
    left join charges
        on landed.event_id = charges.event_id and not landed.is_duplicate and landed.is_built
    left join excluded_events
        on landed.event_id = excluded_events.event_id and not landed.is_duplicate
    left join billed_events
        on landed.event_id = billed_events.event_id and not landed.is_duplicate
    left join written_off_events
        on landed.event_id = written_off_events.event_id and not landed.is_duplicate
    left join awaiting_replacement
        on landed.event_id = awaiting_replacement.event_id and not landed.is_duplicate
    left join closed_periods
        on landed.period = closed_periods.period

),

landed_fates as (

    select
        stream_sequence,
        event_id,
        tenant_id,
        period,
        segments,
        fate,
        case fate
            when 'unbuilt' then 'landed after the last build'
            when 'excluded' then exclusion_reason
            when 'written_off' then written_off_reason
            when 'unpriced' then unpriced_reason
            when 'pending' then coalesce(awaiting_reason, 'open month')
            when 'late' then
                case
                    when billed_invoice_number is null then 'awaiting the next close'
                end
        end as reason,
        case
            when fate in ('invoiced', 'late') then billed_invoice_number
            when fate = 'written_off' then written_off_invoice_number
        end as invoice_number,
        case
            when fate in ('invoiced', 'late') then billed_line_number
            when fate = 'written_off' then written_off_line_number
        end as line_number,
        case when fate = 'duplicate' then first_stream_sequence end as duplicate_of,
        case when fate = 'excluded' then exclusion_id end as exclusion_id,
        case when unpriced_reason is null and fate <> 'duplicate' then amount end as amount
    from with_fate

),

rejected_fates as (

    select
        stream_sequence,
        cast(null as {{ dbt.type_string() }}) as event_id,
        cast(null as {{ dbt.type_string() }}) as tenant_id,
        period,
        cast(null as {{ dbt.type_int() }}) as segments,
        'rejected' as fate,
        reason,
        cast(null as {{ dbt.type_string() }}) as invoice_number,
        cast(null as {{ dbt.type_int() }}) as line_number,
        cast(null as {{ dbt.type_bigint() }}) as duplicate_of,
        cast(null as {{ dbt.type_bigint() }}) as exclusion_id,
        cast(null as {{ type_exact_numeric() }}) as amount
    from rejected

),

final as (

    select
        stream_sequence,
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        cast(tenant_id as {{ dbt.type_string() }}) as tenant_id,
        period,
        segments,
        fate,
        reason,
        invoice_number,
        line_number,
        duplicate_of,
        exclusion_id,
        amount
    from landed_fates
    union all
    select * from rejected_fates

)

select * from final
