-- New EHC plans made in a calendar year, one row per area and year.

with source as (
    select * from {{ source('public', 'newplans') }}
)

select
    {{ public_key_columns(calendar_year=true) }},
    new_ehc_plans as new_plans
from source
