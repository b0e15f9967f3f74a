-- Is each deal like the deals we win and keep? One row per deal: the four ICP criteria
-- of seeds/icp_rules.csv, how many it meets and whether it is an ICP deal (all four).
-- A criterion the CRM does not track is NULL; is_icp is judged on the tracked ones
-- (NULL when none is).

with

evaluated as (

    select * from {{ ref('int_opportunities_icp_evaluated') }}

),

final as (

    select
        opportunity_id,
        owner_id,
        account_id,
        lead_source,
        opportunity_type,
        industry,
        cast(employee_count as {{ dbt.type_bigint() }}) as employee_count,
        trigger_event,
        technical_fit,
        is_industry_fit,
        is_company_size_fit,
        is_trigger_event_fit,
        is_technical_fit,
        cast(criteria_met_count as integer) as criteria_met_count,
        is_icp,
        cast(criteria_tracked_count as integer) as criteria_tracked_count
    from evaluated

)

select * from final
