-- SEND Tribunal appeal rate by calendar year, for England and each LA (no regional rows).

with source as (
    select * from {{ source('public', 'tribunal_appeal_rates') }}
)

select
    geographic_level,
    case geographic_level when 'Local authority' then old_la_code else country_code end as area_code,
    case geographic_level when 'Local authority' then la_name else country_name end as area_name,
    old_la_code as la_code,
    la_name,
    calendar_year,
    census_year,
    appeals_registered,
    appealable_decisions,
    appeal_rate_pct
from source
