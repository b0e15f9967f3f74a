-- The team's own deal fields (custom fields the mapping file passes through), one row per
-- deal x field, beside dim_deals: BI joins them on opportunity_id. Deals that dim_deals
-- does not have (soft-deleted) are not here either.

with

fields as (

    select * from {{ ref('stg_salesforce__opportunity_custom_fields') }}

),

deals as (

    select * from {{ ref('dim_deals') }}

),

final as (

    select
        fields.opportunity_id,
        fields.field_name,
        fields.field_value
    from fields
    inner join deals
        on fields.opportunity_id = deals.opportunity_id

)

select * from final
