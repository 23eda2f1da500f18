-- DSG management plan summary: for each LA and financial year, the rows of the most recent
-- return period whose current version holds that year.

with source as (
    {{ latest_period_rows_per_year('dsg_plan') }}
)

select
    la_code,
    financial_year,
    scenario,
    hnb_income_gbp,
    hnb_expenditure_gbp,
    in_year_balance_gbp,
    cumulative_balance_gbp,
    return_period,
    source_file,
    source_sha256,
    source_line,
    received_at
from source
