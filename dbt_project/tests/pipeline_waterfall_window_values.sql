-- `window` of both waterfall marts is never NULL and is last_7_days or period_to_date.
-- A singular test rather than not_null / accepted_values on the column: the column is quoted
-- (a reserved word), and a generic test on a quoted column gets a different id per adapter.

{% set window_column = adapter.quote('window') %}

with

waterfall as (

    select 'pipeline_waterfall' as mart, {{ window_column }} as window_value
    from {{ ref('pipeline_waterfall') }}

),

waterfall_deals as (

    select 'pipeline_waterfall_deals' as mart, {{ window_column }} as window_value
    from {{ ref('pipeline_waterfall_deals') }}

),

unioned as (

    select * from waterfall
    union all
    select * from waterfall_deals

)

select *
from unioned
where window_value is null or window_value not in ('last_7_days', 'period_to_date')
