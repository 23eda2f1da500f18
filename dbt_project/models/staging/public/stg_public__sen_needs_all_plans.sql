-- EHC plans at the January census by primary need, one row per area, year and DfE need column.

with source as (
    select * from {{ source('public', 'sen_needs_all_plans') }}
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
    primary_need,
    dfe_column,
    plans,
    ehc_plans as ehcplans
from source
