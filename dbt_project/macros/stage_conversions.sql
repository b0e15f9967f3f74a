{#- DESIGN.md "Stage conversion probability", written once for the two models that compute
    it: int_stage_conversions_calibrated (as of as_of_date) and int_stage_conversions_daily
    (as of every day). Each macro renders the body of one CTE; the arguments are the CTE
    names the calling model defines. -#}

{#- The deals counted for a stage: one row per deal x open stage it was ever in, for the
    deals whose stage on as_of_date is closed and whose close_date is on or before
    as_of_date and, with `window_days`, after as_of_date - window_days. "Ever in" = any
    history row created on or before as_of_date in that stage, or the deal's stage on
    as_of_date. Renders three CTEs (closed_deals, stages_ever_in, stage_outcomes: the
    result) for the calling model's `with` list; reads its CTEs deals (int_deals_as_of),
    history (int_opportunity_history_as_of), icp, tracking and stage_map. -#}
{% macro stage_conversion_outcomes_ctes(window_days=none) -%}
    closed_deals as (

        select
            opportunity_id,
            coalesce(is_won_stage, false) as is_won,
            close_date,
            lead_source
        from deals
        where
            coalesce(is_closed_stage, false)
            {%- if window_days is not none %}
                and close_date > cast({{ dbt.dateadd('day', -1 * window_days, as_of_date()) }} as date)
            {%- endif %}
            and close_date <= {{ as_of_date() }}

    ),

    stages_ever_in as (

        select opportunity_id, stage_name from history
        union
        select opportunity_id, stage_name from deals

    ),

    stage_outcomes as (

        select
            closed_deals.opportunity_id,
            stages_ever_in.stage_name,
            stage_map.stage_order,
            closed_deals.is_won,
            closed_deals.close_date,
            -- unknown when the CRM tracks no ICP criterion: no icp / non_icp segments then
            case when tracking.icp_tracked_criteria_count > 0 then coalesce(icp.is_icp, false) end as is_icp,
            coalesce(nullif(trim(closed_deals.lead_source), ''), 'unknown') as lead_source
        from closed_deals
        inner join stages_ever_in
            on closed_deals.opportunity_id = stages_ever_in.opportunity_id
        inner join stage_map
            on stages_ever_in.stage_name = stage_map.stage_name
        left join icp
            on closed_deals.opportunity_id = icp.opportunity_id
        cross join tracking
        where not stage_map.is_closed

    )
{%- endmacro %}

{#- The open stages of the stage map (CTE `stage_map`), with their default probability. -#}
{% macro stage_conversion_open_stages(stage_map='stage_map') -%}
    select
        stage_name,
        stage_order,
        default_probability
    from {{ stage_map }}
    where not is_closed
{%- endmacro %}

{#- The segments every open stage gets a row for: 'all', 'icp' and 'non_icp' (never when
    the CRM tracks no ICP criterion) and 'lead_source:<source>' for every lead source among
    the deals known on as_of_date ('unknown' when blank). -#}
{% macro stage_conversion_segments(deals='deals', tracking='tracking') -%}
    select 'all' as segment, 'all' as segment_type
    union all
    -- no icp / non_icp rows when the CRM tracks no ICP criterion (is_icp unknown)
    select 'icp' as segment, 'icp' as segment_type
    from {{ tracking }}
    where icp_tracked_criteria_count > 0
    union all
    select 'non_icp' as segment, 'icp' as segment_type
    from {{ tracking }}
    where icp_tracked_criteria_count > 0
    union all
    select distinct
        {{ dbt.concat(["'lead_source:'", "coalesce(nullif(trim(lead_source), ''), 'unknown')"]) }} as segment,
        'lead_source' as segment_type
    from {{ deals }}
{%- endmacro %}

{#- Each outcome row (deal x stage) once per segment it belongs to. -#}
{% macro stage_conversion_outcome_segments(outcomes='outcomes') -%}
    select stage_name, opportunity_id, is_won, close_date, 'all' as segment
    from {{ outcomes }}
    union all
    select
        stage_name,
        opportunity_id,
        is_won,
        close_date,
        case when is_icp then 'icp' else 'non_icp' end as segment
    from {{ outcomes }}
    where is_icp is not null
    union all
    select
        stage_name,
        opportunity_id,
        is_won,
        close_date,
        {{ dbt.concat(["'lead_source:'", "lead_source"]) }} as segment
    from {{ outcomes }}
{%- endmacro %}

{#- The rates: every day of `days` (column as_of_day) x open stage x segment, with the
    counts of `counted` (as_of_day, stage_name, segment, deal_count, won_count; a missing
    row is n = 0): raw rate = won / n (null when n = 0), calibrated = (won + k x default) /
    (n + k), k = var calibration_k. -#}
{% macro stage_conversion_rates(days='days', open_stages='open_stages', segments='segments', counted='counted') -%}
    {%- set k = var('calibration_k') -%}
    select
        {{ days }}.as_of_day,
        {{ open_stages }}.stage_name,
        {{ open_stages }}.stage_order,
        {{ segments }}.segment,
        {{ segments }}.segment_type,
        cast(coalesce({{ counted }}.deal_count, 0) as integer) as deal_count,
        cast(coalesce({{ counted }}.won_count, 0) as integer) as won_count,
        cast(coalesce({{ counted }}.deal_count, 0) - coalesce({{ counted }}.won_count, 0) as integer)
            as lost_count,
        case
            when {{ counted }}.deal_count > 0
                then cast({{ counted }}.won_count as {{ type_double() }}) / {{ counted }}.deal_count
        end as raw_rate,
        cast({{ open_stages }}.default_probability as {{ type_double() }}) as default_probability,
        case
            when coalesce({{ counted }}.deal_count, 0) + {{ k }} > 0
                then (
                    coalesce({{ counted }}.won_count, 0)
                    + {{ k }} * cast({{ open_stages }}.default_probability as {{ type_double() }})
                )
                / (coalesce({{ counted }}.deal_count, 0) + {{ k }})
            else cast({{ open_stages }}.default_probability as {{ type_double() }})
        end as calibrated_probability
    from {{ days }}
    cross join {{ open_stages }}
    cross join {{ segments }}
    left join {{ counted }}
        on
            {{ days }}.as_of_day = {{ counted }}.as_of_day
            and {{ open_stages }}.stage_name = {{ counted }}.stage_name
            and {{ segments }}.segment = {{ counted }}.segment
{%- endmacro %}

{#- int_stage_conversions_daily, incremental: the first day a run rebuilds, or none (every
    day: not an incremental run, an empty table, or a change every day depends on).
    Every row stores the counts of its stage and segment's deals closed on its day
    (closed_on_day_*); a day's rates are a function of those counts over its window. So a
    run compares the stored counts with the counts of today's outcomes and rebuilds from
    the first day where they differ (a backdated close date, a deleted deal, a changed
    outcome, ICP fit or lead source, a late history row) and the days after the last
    stored one; everything when the segments, the open stages, their defaults,
    conversion_window_days or calibration_k changed. Read before the run changes anything
    (the model's SQL and its pre-hook both call this before either runs). -#}
{% macro stage_conversions_rebuild_from(relation, outcomes, deals, tracking, stage_map) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        with

        outcomes as (select * from {{ outcomes }}),

        outcome_segments as ({{ stage_conversion_outcome_segments('outcomes') }}),

        open_stages as ({{ stage_conversion_open_stages(stage_map) }}),

        segments as ({{ stage_conversion_segments(deals, tracking) }}),

        stored as (select * from {{ relation }}),

        last_stored as (select max(as_of_day) as last_day from stored),

        fresh_closed as (
            select close_date as as_of_day, stage_name, segment, count(*) as deal_count,
                sum(case when is_won then 1 else 0 end) as won_count
            from outcome_segments
            group by close_date, stage_name, segment
        ),

        differences as (
            select coalesce(fresh_closed.as_of_day, stored.as_of_day) as as_of_day
            from fresh_closed
            full outer join stored
                on fresh_closed.as_of_day = stored.as_of_day
                and fresh_closed.stage_name = stored.stage_name
                and fresh_closed.segment = stored.segment
            where coalesce(fresh_closed.deal_count, 0) <> coalesce(stored.closed_on_day_deal_count, 0)
                or coalesce(fresh_closed.won_count, 0) <> coalesce(stored.closed_on_day_won_count, 0)
        ),

        fresh_grid as (
            select open_stages.stage_name, segments.segment,
                cast(open_stages.default_probability as {{ type_double() }}) as default_probability
            from open_stages cross join segments
        ),

        stored_grid as (
            select distinct stage_name, segment, default_probability from stored
        ),

        grid_changes as (
            select stage_name from fresh_grid
            where not exists (
                select 1 from stored_grid
                where stored_grid.stage_name = fresh_grid.stage_name
                    and stored_grid.segment = fresh_grid.segment
                    and stored_grid.default_probability = fresh_grid.default_probability
            )
            union all
            select stage_name from stored_grid
            where not exists (
                select 1 from fresh_grid
                where stored_grid.stage_name = fresh_grid.stage_name
                    and stored_grid.segment = fresh_grid.segment
                    and stored_grid.default_probability = fresh_grid.default_probability
            )
            union all
            select stage_name from stored
            where conversion_window_days <> {{ var('conversion_window_days') }}
                or calibration_k <> {{ var('calibration_k') }}
        )

        select
            cast(last_stored.last_day as {{ dbt.type_string() }}) as last_day,
            cast((select min(as_of_day) from differences where as_of_day <= last_stored.last_day)
                as {{ dbt.type_string() }}) as first_changed_day,
            (select count(*) from grid_changes) as grid_change_count
        from last_stored
    {%- endset -%}
    {%- set found = run_query(query) -%}
    {%- set last_day = found.columns[0].values()[0] -%}
    {%- set first_changed = found.columns[1].values()[0] -%}
    {%- set grid_changes = found.columns[2].values()[0] -%}
    {%- if last_day is none or grid_changes > 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rebuild_from = modules.datetime.date.fromisoformat(last_day[:10]) + modules.datetime.timedelta(days=1) -%}
    {%- if first_changed is not none -%}
        {%- set changed = modules.datetime.date.fromisoformat(first_changed[:10]) -%}
        {%- if changed < rebuild_from -%}
            {%- set rebuild_from = changed -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(rebuild_from.isoformat()) }}
{%- endmacro %}

{#- The pre-hook of an incremental int_stage_conversions_daily: remove the days the run
    rebuilds (from `rebuild_from` on); a full rebuild when it is none. -#}
{% macro delete_rebuilt_conversion_days(relation, rebuild_from) -%}
    {%- if not is_incremental() -%}
        select 1 as nothing_to_delete
    {%- elif rebuild_from is none -%}
        delete from {{ relation }}
    {%- else -%}
        delete from {{ relation }} where as_of_day >= cast('{{ rebuild_from }}' as date)
    {%- endif -%}
{%- endmacro %}
