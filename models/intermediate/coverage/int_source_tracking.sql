{#- One row: which optional parts of the contract the source had, as the booleans the
    marts cross-join (DESIGN.md "Not tracked means unknown, never bad"). An object counts
    as tracked when it has rows; a column when the coverage says so. A contract column
    the coverage has no row for counts as tracked, as an absent coverage table does. -#}
{%- set columns = [
    ('task', 'what_id'),
    ('event', 'what_id'),
    ('opportunity', 'next_step'),
    ('opportunity', 'next_step_date_c'),
    ('opportunity', 'forecast_category_name'),
    ('opportunity', 'probability'),
    ('opportunity', 'trigger_event_c'),
    ('opportunity', 'technical_fit_c'),
    ('opportunity', 'account_id'),
    ('account', 'industry'),
    ('account', 'number_of_employees'),
    ('forecasting_quota', 'quota_amount'),
    ('opportunity_history', 'created_date'),
    ('lead', 'created_date'),
] %}
{%- set objects = ['task', 'event', 'opportunity', 'account', 'forecasting_quota', 'opportunity_history', 'lead'] %}

with

coverage as (

    select * from {{ ref('stg_revops__source_coverage') }}

),

pivoted as (

    select
        max(case when is_recorded then 1 else 0 end) = 1 as is_coverage_recorded,
        {%- for object_name, column_name in columns %}
        coalesce(
            max(
                case
                    when object_name = '{{ object_name }}' and column_name = '{{ column_name }}'
                        then case when is_tracked then 1 else 0 end
                end
            ),
            1
        ) = 1 as {{ object_name }}__{{ column_name }},
        {%- endfor %}
        {%- for object_name in objects %}
        coalesce(max(case when object_name = '{{ object_name }}' then row_count end), 0)
            as {{ object_name }}__rows{{ ',' if not loop.last }}
        {%- endfor %}
    from coverage

),

final as (

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

)

select
    *,
    cast(
        (case when is_industry_tracked then 1 else 0 end)
        + (case when is_employee_count_tracked then 1 else 0 end)
        + (case when is_trigger_event_tracked then 1 else 0 end)
        + (case when is_technical_fit_tracked then 1 else 0 end)
        as integer
    ) as icp_tracked_criteria_count
from final
