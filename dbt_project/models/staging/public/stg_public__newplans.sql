-- New EHC plans made in a calendar year, one row per area and year.

with source as (
    select * from {{ source('public', 'newplans') }}
)

select
    geographic_level,
    {{ public_area_columns() }},
    region_code,
    region_name,
    old_la_code,
    new_la_code,
    la_name,
    time_period,
    calendar_year,
    census_year,
    new_ehc_plans as new_plans
from source
