{#-
    Incremental int_deal_forecast_buckets_daily: one row per snapshot day x period x deal,
    built from fct_deal_snapshots (open rows), the captured next steps and the deal's current
    state and history (won rows). A daily run recomputes
    1. every day after `kept_until` (its last stored day - snapshot_lookback_days) for every
       deal: the new days, and the days fct_deal_snapshots rebuilds for everyone;
    2. every day of the deals whose inputs can have changed since the last build (the
       changed_rows.sql machinery: raw's `_loaded_at` after the watermark stored beside the
       model by its last build):
       - raw changed the deal (a stage, amount or close date edit - a backdated close date -,
         a soft delete, a restore, a deal gone from a full extract), or one of its history
         rows (a late-arriving row for an old day, a deleted row): its won rows depend on its
         current state and its history, its open rows on what fct_deal_snapshots rebuilt;
       - the deal was created after kept_until, or has a history row dated after it (both
         become part of the as-of state as as_of_date passes them, without any load);
    and keeps the other rows, which a full rebuild computes the same: a deal nobody changed
    keeps its snapshot rows (fct_deal_snapshots rebuilds old days only of modified deals),
    its current state and its history. The captured next steps of a day change only on the
    day a run captures them (as_of_date, in the rebuilt days) or with the deal's raw row.
    Everything is rebuilt on a full build, a first build, a changed model SQL, changed
    inputs of every row (int_next_step_first_capture's day, committed_next_step_days, the
    vague next-step phrases: the key stored with the checksum), a reload of raw, and a run
    for a day before the last stored one. The pre-hook deletes what the run recomputes
    (delete_changed_rows), the model appends it. On Spark the model is a table, rebuilt at
    every run.
-#}

{#- What every row depends on besides the model's SQL and the deals: stored with the checksum;
    a change rebuilds every row. -#}
{% macro changed_deal_days_key(first_capture) -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set found = run_query("select cast(max(first_captured_date) as " ~ dbt.type_string() ~ ") from " ~ first_capture) -%}
    {%- set first_captured = found.columns[0].values()[0] if found is not none else none -%}
    {{ return(
        '|first_captured=' ~ (first_captured if first_captured is not none else 'none')
        ~ '|committed_next_step_days=' ~ var('committed_next_step_days')
        ~ '|vague_next_step_phrases=' ~ (var('vague_next_step_phrases') | join(','))
    ) }}
{%- endmacro %}

{#- The run's rebuild: none (every row), else {'since': the raw `_loaded_at` the last build
    took, 'kept_until': the last day every deal keeps (ISO)}. Read before the run changes
    anything: the model's SQL and its pre-hook both call it before either runs. -#}
{% macro changed_deal_days(relation, raw_deals, first_capture) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set since = changed_rows_since(
        relation, raw_deals, key=changed_deal_days_key(first_capture), stored_watermark=true
    ) -%}
    {%- if since is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set kept_until = deal_snapshots_kept_until(relation) -%}
    {%- set last_day = modules.datetime.date.fromisoformat(kept_until)
        + modules.datetime.timedelta(days=var('snapshot_lookback_days')) -%}
    {%- if last_day > modules.datetime.date.fromisoformat(as_of_date_string()) -%}
        {#- a run for an earlier day than the last stored one -#}
        {{ return(none) }}
    {%- endif -%}
    {{ return({'since': since, 'kept_until': kept_until}) }}
{%- endmacro %}

{#- SQL, a date: the last day every deal keeps - the run's kept_until, or on a full build
    (`rebuild` none) the day before the calendar's first (every day is recomputed). -#}
{% macro changed_deal_days_kept_until(rebuild) -%}
    {%- if rebuild is not none -%}
        {{ return("cast('" ~ rebuild.kept_until ~ "' as date)") }}
    {%- endif -%}
    {{ return("cast(" ~ dbt.dateadd('day', -1, "cast('" ~ var('calendar_start_date') ~ "' as date)") ~ " as date)") }}
{%- endmacro %}

{#- SQL: the ids of the deals whose every day is recomputed (the macro's header, item 2; none
    when `rebuild` is none). `deals` has opportunity_id and created_date, `history`
    opportunity_id and created_date (the history rows known on as_of_date). -#}
{% macro changed_deal_ids(rebuild, raw_deals, raw_history, deals, history) -%}
    {%- if rebuild is none -%}
        select opportunity_id from {{ deals }} where false
    {%- else -%}
        select opportunity_id from {{ deals }}
        where created_date > cast('{{ rebuild.kept_until }}' as date)
        union
        select opportunity_id from {{ history }}
        where created_date > cast('{{ rebuild.kept_until }}' as date)
        union
        {{ changed_ids(raw_deals, rebuild.since) }}
        union
        {{ changed_ids(raw_history, rebuild.since, key='opportunity_id') }}
    {%- endif -%}
{%- endmacro %}

{#- The pre-hook: delete the rows the run recomputes (every row when `rebuild` is none). -#}
{% macro delete_changed_deal_days(relation, rebuild, raw_deals, raw_history, deals, history) -%}
    {%- if rebuild is none -%}
        {{ delete_changed_rows(relation, none, []) }}
    {%- else -%}
        {{ delete_changed_rows(relation, rebuild.since, [], also=[
            "snapshot_date > cast('" ~ rebuild.kept_until ~ "' as date)",
            "opportunity_id in (" ~ changed_deal_ids(rebuild, raw_deals, raw_history, deals, history) ~ ")",
        ]) }}
    {%- endif -%}
{%- endmacro %}
