-- The custom fields a team passes through (its mapping file's `pass_through` of
-- opportunity, var `deal_custom_fields`), one row per deal x field, as text: columns the
-- contract does not know, kept for BI without a schema change per team. Deduplicated as
-- stg_salesforce__opportunities is (the latest modification of an id wins); soft-deleted
-- deals left out.

{%- set fields = var('deal_custom_fields') %}

with

source as (

    select * from {{ source('salesforce', 'opportunity') }}

),

deduplicated as (

    select
        *,
        row_number() over (
            partition by cast(id as {{ dbt.type_string() }})
            order by cast(last_modified_date as {{ dbt.type_timestamp() }}) desc
        ) as row_num
    from source
    where not coalesce(cast(is_deleted as {{ dbt.type_boolean() }}), false)

),

{% if fields %}

unpivoted as (

    {% for field in fields %}
        select
            cast(id as {{ type_varchar() }}) as opportunity_id,
            cast('{{ field }}' as {{ type_varchar() }}) as field_name,
            cast({{ adapter.quote(field) }} as {{ type_varchar() }}) as field_value
        from deduplicated
        where row_num = 1
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

{% else %}

    unpivoted as (

        select
            cast(null as {{ type_varchar() }}) as opportunity_id,
            cast(null as {{ type_varchar() }}) as field_name,
            cast(null as {{ type_varchar() }}) as field_value
        from deduplicated
        where false

    ),

{% endif %}

final as (

    select * from unpivoted

)

select * from final
