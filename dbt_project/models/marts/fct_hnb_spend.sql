-- High needs block spend by LA, financial year, provision type and spend type (S251 lines summed).

select
    la_code,
    financial_year,
    provision_type,
    spend_type,
    cast(sum(spend_gbp) as decimal(18, 2)) as spend_gbp,
    count(*) as line_count,
    any_value(return_period) as return_period
from {{ ref('stg_raw__hnb_spend') }}
group by la_code, financial_year, provision_type, spend_type
