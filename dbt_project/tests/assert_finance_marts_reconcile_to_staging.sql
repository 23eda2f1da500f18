{{ config(
    meta={'dagster': {
        'ref': {'name': 'fct_hnb_spend'},
        'description': 'fct_hnb_spend, fct_dsg_balance and fct_mitigations hold every staged row'
    }}
) }}
-- Reconciliation of the finance marts with staging, per LA: spend lines and pounds, DSG plan
-- rows, mitigation rows and savings.

with staged as (
    select 'hnb_spend' as mart, la_code, count(*) as row_count, sum(spend_gbp) as amount_gbp
    from {{ ref('stg_raw__hnb_spend') }}
    group by la_code
    union all
    select 'dsg_plan', la_code, count(*), sum(in_year_balance_gbp)
    from {{ ref('stg_raw__dsg_plan') }}
    group by la_code
    union all
    select 'mitigations', la_code, count(*), sum(saving_gbp)
    from {{ ref('stg_raw__mitigations') }}
    group by la_code
),

marts as (
    select 'hnb_spend' as mart, la_code, sum(line_count) as row_count, sum(spend_gbp) as amount_gbp
    from {{ ref('fct_hnb_spend') }}
    group by la_code
    union all
    select 'dsg_plan', la_code, count(*), sum(in_year_balance_gbp)
    from {{ ref('fct_dsg_balance') }}
    group by la_code
    union all
    select 'mitigations', la_code, sum(mitigation_count), sum(saving_gbp)
    from {{ ref('fct_mitigations') }}
    group by la_code
)

select
    coalesce(staged.mart, marts.mart) as mart,
    coalesce(staged.la_code, marts.la_code) as la_code,
    staged.row_count as staged_rows,
    marts.row_count as mart_rows,
    staged.amount_gbp as staged_amount_gbp,
    marts.amount_gbp as mart_amount_gbp
from staged
full outer join marts
    on staged.mart = marts.mart and staged.la_code = marts.la_code
where
    staged.row_count is distinct from marts.row_count
    or staged.amount_gbp is distinct from marts.amount_gbp
