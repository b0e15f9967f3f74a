-- The deal fields opportunity_history does not carry (next step and its date, owner,
-- forecast category) as the CRM shows them at this run, labelled with the run's
-- as_of_date: the input of the dbt snapshot `opportunity_state_snapshot`, which keeps
-- a version each time one of them changes, from the project's first run on.

with

opportunities as (

    select * from {{ ref('stg_salesforce__opportunities') }}

),

final as (

    select
        opportunity_id,
        owner_id,
        stage_name,
        amount,
        close_date,
        forecast_category,
        next_step,
        next_step_date,
        {{ as_of_date() }} as as_of_date,
        cast({{ as_of_date() }} as {{ dbt.type_timestamp() }}) as captured_at
    from opportunities

)

select * from final
