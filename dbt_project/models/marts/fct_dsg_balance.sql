-- DSG management plan balances by LA, financial year and scenario, and as a share of HNB income.

select
    la_code,
    financial_year,
    scenario,
    hnb_income_gbp,
    hnb_expenditure_gbp,
    in_year_balance_gbp,
    cumulative_balance_gbp,
    cast(100.0 * in_year_balance_gbp / nullif(hnb_income_gbp, 0) as double) as in_year_balance_pct_of_income,
    cast(100.0 * cumulative_balance_gbp / nullif(hnb_income_gbp, 0) as double) as cumulative_balance_pct_of_income,
    return_period
from {{ ref('stg_raw__dsg_plan') }}
