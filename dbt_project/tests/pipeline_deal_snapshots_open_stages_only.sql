-- fct_deal_snapshots holds open deals only: every row's stage is an open stage of the
-- stage map. Returns the rows in a closed stage.

select
    snapshots.snapshot_date,
    snapshots.opportunity_id,
    snapshots.stage_name
from {{ ref('fct_deal_snapshots') }} as snapshots
inner join {{ ref('stage_map') }} as stage_map
    on snapshots.stage_name = stage_map.stage_name
where stage_map.is_closed
