-- EHC plans ceased in a calendar year by reason, one row per area, year and DfE reason column.

with source as (
    select * from {{ source('public', 'ceased_plans') }}
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
    cease_reason,
    dfe_column,
    plans,
    total_ceased as plans_ceased
from source
