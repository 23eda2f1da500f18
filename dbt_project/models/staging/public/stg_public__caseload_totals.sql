-- DfE's published number of EHC plans at the January census, one row per area and year.

with source as (
    select * from {{ source('public', 'caseload') }}
)

select distinct
    {{ public_key_columns() }},
    ehcplans
from source
