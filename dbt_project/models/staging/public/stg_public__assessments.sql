-- EHC needs assessments in a calendar year, by outcome; one row per area and year.

with source as (
    select * from {{ source('public', 'assessments') }}
)

select
    {{ public_key_columns(calendar_year=true) }},
    assess_in_year as assessments,
    assess_issued as assessments_plan_issued,
    assess_not_issued as assessments_plan_not_issued
from source
