-- EHC needs assessments in a calendar year, by outcome; one row per area and year.

with source as (
    select * from {{ source('public', 'assessments') }}
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
    assess_in_year as assessments,
    assess_issued as assessments_plan_issued,
    assess_not_issued as assessments_plan_not_issued
from source
