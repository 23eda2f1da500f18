{{ config(
    meta={'dagster': {
        'ref': {'name': 'stg_raw__placements'},
        'description': "Staged placements equal rows_loaded of each LA's current version of its latest period"
    }}
) }}
-- Reconciliation: for each LA, stg_raw__placements holds exactly rows_loaded rows of the LA's
-- current placements version of its latest return period, per the ledger.

with ledger_latest as (
    select la_code, rows_loaded
    from (
        select
            la_code,
            version_rows_loaded as rows_loaded,
            row_number() over (partition by la_code order by return_period desc) as period_recency
        from {{ ref('stg_raw__submissions') }}
        where table_name = 'placements' and is_current_version and version_rows_loaded > 0
    ) as versions
    where period_recency = 1
),

staged as (
    select la_code, count(*) as staged_rows
    from {{ ref('stg_raw__placements') }}
    group by la_code
)

select
    coalesce(ledger_latest.la_code, staged.la_code) as la_code,
    ledger_latest.rows_loaded,
    staged.staged_rows
from ledger_latest
full outer join staged
    on ledger_latest.la_code = staged.la_code
where coalesce(ledger_latest.rows_loaded, 0) <> coalesce(staged.staged_rows, 0)
