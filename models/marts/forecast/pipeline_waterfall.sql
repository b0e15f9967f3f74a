-- How did the pipeline move? One row per period (current month, current quarter) x
-- window (last_7_days, period_to_date) x rollup (owner, team, company) x movement
-- (DESIGN.md "Pipeline waterfall"): start + created + pulled_in + increased - decreased
-- - won - lost - pushed_out - removed = end, at every roll-up. Every movement row is
-- written, zeros included, for every owner and team with a deal in S u E, and always for
-- the company, so BI reads the equation from rows. unchanged (outside the equation)
-- carries its deals' amount. Without opportunity history only the company rows are
-- written, with deal_count and amount NULL and unknown_reason saying why.

{%- set movements = [
    'start', 'created', 'pulled_in', 'increased', 'decreased', 'unchanged',
    'won', 'lost', 'pushed_out', 'removed', 'end'
] %}
{%- set dimensions = [
    'period', 'period_start', 'period_end', 'window_name', 'window_start_date', 'window_end_date'
] %}
{%- set measures = {} %}
{%- for movement in movements %}
    {%- if movement == 'start' %}
        {%- do measures.update({
            'start_deal_count': 'sum(case when amount_counted_start then 1 else 0 end)',
            'start_amount': 'sum(amount_start)'
        }) %}
    {%- elif movement == 'end' %}
        {%- do measures.update({
            'end_deal_count': 'sum(case when amount_counted_end then 1 else 0 end)',
            'end_amount': 'sum(amount_end)'
        }) %}
    {%- else %}
        {%- do measures.update({
            movement ~ '_deal_count': "sum(case when movement = '" ~ movement ~ "' then 1 else 0 end)",
            movement ~ '_amount': "sum(case when movement = '" ~ movement ~ "' then amount else 0 end)"
        }) %}
    {%- endif %}
{%- endfor %}

with

moved as (

    select
        period,
        period_start,
        period_end,
        window_name,
        window_start_date,
        window_end_date,
        owner_id,
        team,
        movement,
        amount_start,
        amount_end,
        amount,
        -- in S: every movement but created and pulled_in; in E: but won, lost, pushed_out, removed
        movement not in ('created', 'pulled_in') as amount_counted_start,
        movement not in ('won', 'lost', 'pushed_out', 'removed') as amount_counted_end
    from {{ ref('int_pipeline_waterfall_deals') }}

),

windows as (

    select * from {{ ref('int_pipeline_waterfall_windows') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

moved_and_windows as (

    -- one empty row per window, so that the company row of every window is written even
    -- when no deal is in S u E (it moves nothing: no movement, no amount)
    select * from moved
    union all
    select
        period,
        period_start,
        period_end,
        window_name,
        window_start_date,
        window_end_date,
        cast(null as {{ dbt.type_string() }}) as owner_id,
        cast(null as {{ dbt.type_string() }}) as team,
        cast(null as {{ dbt.type_string() }}) as movement,
        0 as amount_start,
        0 as amount_end,
        0 as amount,
        false as amount_counted_start,
        false as amount_counted_end
    from windows

),

rollups as (

    {{ owner_team_company_rollup('moved', measures=measures, dimensions=dimensions, levels=['owner', 'team']) }}
    union all
    {{ owner_team_company_rollup('moved_and_windows', measures=measures, dimensions=dimensions, levels=['company']) }}

),

movements as (

    select
        cast('start' as {{ dbt.type_string() }}) as movement,
        1 as movement_order
    union all
    select 'created', 2
    union all
    select 'pulled_in', 3
    union all
    select 'increased', 4
    union all
    select 'decreased', 5
    union all
    select 'unchanged', 6
    union all
    select 'won', 7
    union all
    select 'lost', 8
    union all
    select 'pushed_out', 9
    union all
    select 'removed', 10
    union all
    select 'end', 11

),

unpivoted as (

    select
        rollups.*,
        movements.movement,
        movements.movement_order,
        case movements.movement
            when 'start' then rollups.start_deal_count
            when 'created' then rollups.created_deal_count
            when 'pulled_in' then rollups.pulled_in_deal_count
            when 'increased' then rollups.increased_deal_count
            when 'decreased' then rollups.decreased_deal_count
            when 'unchanged' then rollups.unchanged_deal_count
            when 'won' then rollups.won_deal_count
            when 'lost' then rollups.lost_deal_count
            when 'pushed_out' then rollups.pushed_out_deal_count
            when 'removed' then rollups.removed_deal_count
            when 'end' then rollups.end_deal_count
        end as deal_count,
        case movements.movement
            when 'start' then rollups.start_amount
            when 'created' then rollups.created_amount
            when 'pulled_in' then rollups.pulled_in_amount
            when 'increased' then rollups.increased_amount
            when 'decreased' then rollups.decreased_amount
            when 'unchanged' then rollups.unchanged_amount
            when 'won' then rollups.won_amount
            when 'lost' then rollups.lost_amount
            when 'pushed_out' then rollups.pushed_out_amount
            when 'removed' then rollups.removed_amount
            when 'end' then rollups.end_amount
        end as amount
    from rollups
    cross join movements

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        cast(unpivoted.period as {{ type_varchar() }}) as period,
        unpivoted.period_start,
        unpivoted.period_end,
        cast(unpivoted.window_name as {{ type_varchar() }}) as {{ adapter.quote('window') }},
        unpivoted.window_start_date,
        unpivoted.window_end_date,
        cast(unpivoted.rollup_level as {{ type_varchar() }}) as rollup_level,
        cast(unpivoted.owner_id as {{ type_varchar() }}) as owner_id,
        cast(unpivoted.team as {{ type_varchar() }}) as team,
        cast(unpivoted.movement as {{ type_varchar() }}) as movement,
        cast(unpivoted.movement_order as integer) as movement_order,
        -- without opportunity history the movements are unknown (NULL), not 0
        cast(case when tracking.is_history_tracked then coalesce(unpivoted.deal_count, 0) end as integer) as deal_count,
        cast(
            case when tracking.is_history_tracked then coalesce(unpivoted.amount, 0) end as {{ type_double() }}
        ) as amount,
        cast(
            case when not tracking.is_history_tracked then 'opportunity history not tracked in the CRM' end
            as {{ type_varchar() }}
        ) as unknown_reason
    from unpivoted
    cross join tracking

)

select * from final
