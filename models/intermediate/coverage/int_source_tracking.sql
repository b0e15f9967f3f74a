-- One row: which optional parts of the contract the source had, as the booleans the
-- marts cross-join (DESIGN.md "Not tracked means unknown, never bad"). An object counts
-- as tracked when it has rows; a column when the coverage says so. A contract column
-- the coverage has no row for counts as tracked, as an absent coverage table does.

with

coverage as (

    select * from {{ ref('stg_revops__source_coverage') }}

),

pivoted as (

    select
        max(case when is_recorded then 1 else 0 end) = 1 as is_coverage_recorded,
        {{ revops_tracked_flag('task', 'what_id') }} as task__what_id,
        {{ revops_tracked_flag('event', 'what_id') }} as event__what_id,
        {{ revops_tracked_flag('opportunity', 'next_step') }} as opportunity__next_step,
        {{ revops_tracked_flag('opportunity', 'next_step_date_c') }} as opportunity__next_step_date_c,
        {{ revops_tracked_flag('opportunity', 'forecast_category_name') }} as opportunity__forecast_category_name,
        {{ revops_tracked_flag('opportunity', 'probability') }} as opportunity__probability,
        {{ revops_tracked_flag('opportunity', 'trigger_event_c') }} as opportunity__trigger_event_c,
        {{ revops_tracked_flag('opportunity', 'technical_fit_c') }} as opportunity__technical_fit_c,
        {{ revops_tracked_flag('opportunity', 'account_id') }} as opportunity__account_id,
        {{ revops_tracked_flag('account', 'industry') }} as account__industry,
        {{ revops_tracked_flag('account', 'number_of_employees') }} as account__number_of_employees,
        {{ revops_tracked_flag('forecasting_quota', 'quota_amount') }} as forecasting_quota__quota_amount,
        {{ revops_tracked_flag('opportunity_history', 'created_date') }} as opportunity_history__created_date,
        {{ revops_tracked_flag('lead', 'created_date') }} as lead__created_date,
        {{ revops_object_rows('task') }} as task__rows,
        {{ revops_object_rows('event') }} as event__rows,
        {{ revops_object_rows('opportunity') }} as opportunity__rows,
        {{ revops_object_rows('account') }} as account__rows,
        {{ revops_object_rows('forecasting_quota') }} as forecasting_quota__rows,
        {{ revops_object_rows('opportunity_history') }} as opportunity_history__rows,
        {{ revops_object_rows('lead') }} as lead__rows
    from coverage

),

flags as (

    select
        coalesce(is_coverage_recorded, false) as is_coverage_recorded,
        (task__rows > 0 and task__what_id) or (event__rows > 0 and event__what_id)
            as is_activity_tracked,
        opportunity__next_step as is_next_step_tracked,
        opportunity__next_step_date_c as is_next_step_date_tracked,
        opportunity__forecast_category_name as is_forecast_category_tracked,
        opportunity__probability as is_crm_probability_tracked,
        forecasting_quota__rows > 0 and forecasting_quota__quota_amount as is_quota_tracked,
        opportunity_history__rows > 0 and opportunity_history__created_date as is_history_tracked,
        lead__rows > 0 and lead__created_date as is_lead_tracked,
        account__rows > 0 and opportunity__account_id as is_account_tracked,
        account__rows > 0 and opportunity__account_id and account__industry as is_industry_tracked,
        account__rows > 0 and opportunity__account_id and account__number_of_employees
            as is_employee_count_tracked,
        opportunity__trigger_event_c as is_trigger_event_tracked,
        opportunity__technical_fit_c as is_technical_fit_tracked,
        cast(task__rows as {{ dbt.type_bigint() }}) as task_row_count,
        cast(event__rows as {{ dbt.type_bigint() }}) as event_row_count
    from pivoted

),

final as (

    select
        *,
        cast(
            (case when is_industry_tracked then 1 else 0 end)
            + (case when is_employee_count_tracked then 1 else 0 end)
            + (case when is_trigger_event_tracked then 1 else 0 end)
            + (case when is_technical_fit_tracked then 1 else 0 end)
            as integer
        ) as icp_tracked_criteria_count
    from flags

)

select * from final
