-- EHC plans at the January census, one row per area, year and DfE placement column.

with source as (
    select * from {{ source('public', 'caseload') }}
)

select
    {{ public_key_columns() }},
    provision_type,
    dfe_column,
    plans as ehcp_count
from source
