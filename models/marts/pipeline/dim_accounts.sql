-- One row per account (company) with its firmographics and owner.

with

accounts as (

    select * from {{ ref('stg_salesforce__accounts') }}

),

final as (

    select
        account_id,
        account_name as name,
        industry,
        employee_count,
        annual_revenue_amount,
        billing_country,
        owner_id,
        created_at
    from accounts

)

select * from final
