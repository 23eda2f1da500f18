-- Mitigations: for each LA and financial year, the rows of the most recent return period whose
-- current version holds that year.

with source as (
    {{ latest_period_rows_per_year('mitigations') }}
)

select
    la_code,
    mitigation_id,
    line_of_enquiry,
    title,
    status,
    financial_year,
    saving_gbp,
    dbv_grant_gbp,
    return_period,
    source_file,
    source_sha256,
    source_line,
    received_at
from source
