-- EHC plans at the January census by primary need, one row per area, year and DfE need column.

with source as (
    select * from {{ source('public', 'sen_needs_all_plans') }}
)

select
    {{ public_key_columns() }},
    primary_need,
    dfe_column,
    plans as ehcp_count,
    ehc_plans as total_ehcp_count
from source
