-- Optional input: recurring revenue per account (mrr_amount per month between start_date
-- and end_date; end_date NULL = still active). Without it the raw table is empty and NRR
-- falls back to Expansion and Renewal deals (growth_metrics).

with

source as (

    select * from {{ source('salesforce', 'subscription') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as subscription_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,

        cast(mrr_amount as {{ type_double() }}) as mrr_amount,

        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date

    from source

),

deduplicated as (

    select
        *,
        row_number() over (
            partition by subscription_id order by start_date desc
        ) as row_num
    from renamed

),

final as (

    select
        subscription_id,
        account_id,
        mrr_amount,
        start_date,
        end_date
    from deduplicated
    where row_num = 1

)

select * from final
