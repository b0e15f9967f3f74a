{#- The owner -> team -> company roll-up the marts report (rollup_level 'owner', 'team',
    'company'): one select per level, joined with union all, each with the columns
    <dimensions>, rollup_level, owner_id, team, <measures> in that order.

    relation:   the rows to roll up (a CTE name), with the columns owner_id and team.
    measures:   the columns to sum, or {alias: aggregate expression} for anything else
                (count(*), sum(case ...)); the order given is the column order.
    dimensions: columns every level keeps and groups by, e.g. the period.
    levels:     which of 'owner', 'team', 'company' to write (default all three). Leave
                out 'owner' when the relation already is one row per owner, written by
                the model itself, and the team and company rows add those rows up.

    Owner rows group by owner_id and team; team rows by team, with a null owner_id;
    the company row has both null and groups by the dimensions only, so without
    dimensions it is one row even when the relation is empty. Plain SQL: every engine. -#}
{% macro owner_team_company_rollup(relation, measures, dimensions=[], levels=['owner', 'team', 'company']) -%}
    {%- set aggregates = {} -%}
    {%- if measures is mapping -%}
        {%- do aggregates.update(measures) -%}
    {%- else -%}
        {%- for column in measures -%}
            {%- do aggregates.update({column: 'sum(' ~ column ~ ')'}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set null_string = 'cast(null as ' ~ dbt.type_string() ~ ')' -%}
    {%- set level_keys = {'owner': ['owner_id', 'team'], 'team': ['team'], 'company': []} -%}
    {%- for level in levels -%}
        {%- if level not in level_keys -%}
            {{ exceptions.raise_compiler_error(
                "owner_team_company_rollup: unknown level '" ~ level ~ "' (use owner, team or company)"
            ) }}
        {%- endif -%}
        {%- set group_columns = dimensions + level_keys[level] %}
    select
        {%- for dimension in dimensions %}
        {{ dimension }},
        {%- endfor %}
        cast('{{ level }}' as {{ dbt.type_string() }}) as rollup_level,
        {{ 'owner_id' if level == 'owner' else null_string ~ ' as owner_id' }},
        {{ 'team' if level != 'company' else null_string ~ ' as team' }},
        {%- for alias, aggregate in aggregates.items() %}
        {{ aggregate }} as {{ alias }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
        {%- if group_columns %}
    group by {{ group_columns | join(', ') }}
        {%- endif %}
        {%- if not loop.last %}
    union all
        {%- endif %}
    {%- endfor %}
{%- endmacro %}
