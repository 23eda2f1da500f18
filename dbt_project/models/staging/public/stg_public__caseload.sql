-- EHC plans at the January census, one row per area, year and DfE placement column.

with source as (
    select * from {{ source('public', 'caseload') }}
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
    census_year,
    provision_type,
    dfe_column,
    plans
from source
