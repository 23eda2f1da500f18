-- Requests for an EHC needs assessment in a calendar year, by outcome; one row per area and year.

with source as (
    select * from {{ source('public', 'requests') }}
)

select
    {{ public_key_columns(calendar_year=true) }},
    requests_received_in_year as requests_received,
    requests_decided_to_assess as requests_agreed,
    requests_decided_not_to_assess as requests_refused,
    requests_decision_not_made as requests_undecided,
    requests_withdrawn
from source
