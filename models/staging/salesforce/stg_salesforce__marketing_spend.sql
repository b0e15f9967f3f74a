-- Optional input (DESIGN.md "Optional inputs for the rest of the six growth metrics"):
-- without it the raw table is empty and CAC is unknown. One row per month x channel; a
-- repeated month x channel keeps the larger amount (the gate blocks duplicates anyway).

with

source as (

    select * from {{ source('salesforce', 'marketing_spend') }}

),

renamed as (

    select
        cast({{ dbt.date_trunc('month', 'month') }} as date) as spend_month,
        cast(trim(channel) as {{ dbt.type_string() }}) as channel,

        cast(amount as {{ type_double() }}) as spend_amount

    from source
    where month is not null and channel is not null and trim(channel) <> ''

),

deduplicated as (

    select
        *,
        row_number() over (
            partition by spend_month, channel order by spend_amount desc
        ) as row_num
    from renamed

),

final as (

    select
        spend_month,
        channel,
        spend_amount
    from deduplicated
    where row_num = 1

)

select * from final
