-- DfE's published number of EHC plans at the January census, one row per area and year.

with source as (
    select * from {{ source('public', 'caseload') }}
)

select distinct
    geographic_level,
    {{ public_area_columns() }},
    region_code,
    region_name,
    old_la_code,
    new_la_code,
    la_name,
    time_period,
    census_year,
    ehcplans
from source
