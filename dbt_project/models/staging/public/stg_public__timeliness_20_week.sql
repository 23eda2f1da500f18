-- EHC plans issued in a calendar year and how many within the statutory 20 weeks, including and
-- excluding plans where an exception to the time limit applies; one row per area and year.

with source as (
    select * from {{ source('public', 'timeliness_20_week') }}
)

select
    {{ public_key_columns(calendar_year=true) }},
    plans_issued_den as plans_issued,
    plans_issued_within_20_weeks,
    plans_issued_den_ex as plans_issued_excl_exceptions,
    plans_issued_20_weeks_ex as plans_issued_within_20_weeks_excl_exceptions
from source
