-- One row per deal: the four ICP criteria of seeds/icp_rules.csv, judged on the deal
-- and its account. The rules are read from the seed, never written here: industry in
-- the in_list rows (case-insensitive), employees within [min_employees, max_employees]
-- (inclusive; unknown employees fail), a trigger event that is not blank, technical fit
-- equal to an `equals` row (case-insensitive). A criterion the seed has no rule row for
-- constrains nothing: every deal meets it. A criterion whose input the CRM does not
-- track (int_source_tracking) is NULL; is_icp is judged on the tracked ones, and is NULL
-- when none is tracked.

with

opportunities as (

    select * from {{ ref('stg_salesforce__opportunities') }}

),

accounts as (

    select * from {{ ref('stg_salesforce__accounts') }}

),

icp_rules as (

    select * from {{ ref('icp_rules') }}

),


tracking as (

    select * from {{ ref('int_source_tracking') }}

),

rules as (

    select
        lower(trim(criterion)) as criterion,
        lower(trim(rule_type)) as rule_type,
        trim(rule_value) as rule_value
    from icp_rules

),

industry_rules as (

    select distinct lower(rule_value) as industry_key
    from rules
    where criterion = 'industry' and rule_type = 'in_list' and rule_value is not null

),

technical_fit_rules as (

    select distinct lower(rule_value) as technical_fit_key
    from rules
    where criterion = 'technical_fit' and rule_type = 'equals' and rule_value is not null

),

-- one row whatever the seed holds; several min (max) rows: the strictest wins
rule_settings as (

    select
        sum(
            case when criterion = 'industry' and rule_type = 'in_list' then 1 else 0 end
        ) as industry_rule_count,
        max(
            case
                when criterion = 'company_size' and rule_type = 'min_employees'
                    then cast(rule_value as {{ type_double() }})
            end
        ) as min_employees,
        min(
            case
                when criterion = 'company_size' and rule_type = 'max_employees'
                    then cast(rule_value as {{ type_double() }})
            end
        ) as max_employees,
        sum(
            case when criterion = 'trigger_event' and rule_type = 'not_blank' then 1 else 0 end
        ) as trigger_event_rule_count,
        sum(
            case when criterion = 'technical_fit' and rule_type = 'equals' then 1 else 0 end
        ) as technical_fit_rule_count
    from rules

),

deals as (

    select
        opportunities.opportunity_id,
        opportunities.owner_id,
        opportunities.account_id,
        opportunities.lead_source,
        opportunities.opportunity_type,
        accounts.industry,
        accounts.employee_count,
        opportunities.trigger_event,
        opportunities.technical_fit
    from opportunities
    left join accounts
        on opportunities.account_id = accounts.account_id

),

judged as (

    select
        deals.*,
        tracking.is_industry_tracked,
        tracking.is_employee_count_tracked,
        tracking.is_trigger_event_tracked,
        tracking.is_technical_fit_tracked,
        tracking.icp_tracked_criteria_count,
        case
            when not tracking.is_industry_tracked then null
            when coalesce(rule_settings.industry_rule_count, 0) = 0 then true
            else industry_rules.industry_key is not null
        end as is_industry_fit,
        case
            when not tracking.is_employee_count_tracked then null
            when rule_settings.min_employees is null and rule_settings.max_employees is null
                then true
            when deals.employee_count is null then false
            else
                (rule_settings.min_employees is null or deals.employee_count >= rule_settings.min_employees)
                and (rule_settings.max_employees is null or deals.employee_count <= rule_settings.max_employees)
        end as is_company_size_fit,
        case
            when not tracking.is_trigger_event_tracked then null
            when coalesce(rule_settings.trigger_event_rule_count, 0) = 0 then true
            else not {{ icp_is_blank('deals.trigger_event') }}
        end as is_trigger_event_fit,
        case
            when not tracking.is_technical_fit_tracked then null
            when coalesce(rule_settings.technical_fit_rule_count, 0) = 0 then true
            else technical_fit_rules.technical_fit_key is not null
        end as is_technical_fit
    from deals
    cross join rule_settings
    cross join tracking
    left join industry_rules
        on lower(trim(deals.industry)) = industry_rules.industry_key
    left join technical_fit_rules
        on lower(trim(deals.technical_fit)) = technical_fit_rules.technical_fit_key

),

final as (

    select
        opportunity_id,
        owner_id,
        account_id,
        lead_source,
        opportunity_type,
        industry,
        employee_count,
        trigger_event,
        technical_fit,
        is_industry_fit,
        is_company_size_fit,
        is_trigger_event_fit,
        is_technical_fit,
        (case when is_industry_fit then 1 else 0 end)
        + (case when is_company_size_fit then 1 else 0 end)
        + (case when is_trigger_event_fit then 1 else 0 end)
        + (case when is_technical_fit then 1 else 0 end) as criteria_met_count,
        icp_tracked_criteria_count as criteria_tracked_count,
        case
            when icp_tracked_criteria_count > 0
                then (is_industry_fit or not is_industry_tracked)
                and (is_company_size_fit or not is_employee_count_tracked)
                and (is_trigger_event_fit or not is_trigger_event_tracked)
                and (is_technical_fit or not is_technical_fit_tracked)
        end as is_icp
    from judged

)

select * from final
