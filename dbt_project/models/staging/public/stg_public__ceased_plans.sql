-- EHC plans ceased in a calendar year by reason, one row per area, year and DfE reason column.

with source as (
    select * from {{ source('public', 'ceased_plans') }}
)

select
    {{ public_key_columns(calendar_year=true) }},
    cease_reason,
    dfe_column,
    plans,
    total_ceased as plans_ceased
from source
