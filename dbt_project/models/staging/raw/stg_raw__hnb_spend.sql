-- High needs block spend: for each LA and financial year, the rows of the most recent return
-- period whose current version holds that year.

with source as (
    {{ latest_period_rows_per_year('hnb_spend') }}
)

select
    la_code,
    financial_year,
    provision_type,
    spend_type,
    spend_gbp,
    s251_line,
    return_period,
    source_file,
    source_sha256,
    source_line,
    received_at
from source
