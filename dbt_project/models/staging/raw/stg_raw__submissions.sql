-- The version ledger, one row per (file, table) event, with the current-version flag (spec §1):
-- the current version of (LA, table, period) is its latest `loaded` or `reverted` event whose
-- blocking checks have passed (`pending` is false; a ledger written before the column had none).
-- Events are ordered by received_at, then by their position in the LA's append-only ledger.
-- version_rows_loaded is the rows the event's version holds: rows_loaded of the event that loaded
-- it (a `reverted` or `unchanged` event writes no rows of its own).

with ledger as (
    select * from {{ source('raw', 'submissions') }}
),

flagged as (
    select
        *,
        outcome in ('loaded', 'reverted') and not coalesce(pending, false) as is_accepted,
        coalesce(pending, false) as is_pending,
        row_number() over (
            partition by la_code, table_name, return_period, outcome in ('loaded', 'reverted') and not coalesce(pending, false)
            order by received_at desc, file_row_number desc
        ) as accepted_recency,
        max(rows_loaded) filter (where outcome = 'loaded') over (
            partition by la_code, table_name, return_period, source_sha256
        ) as version_rows_loaded
    from ledger
)

select
    la_code || ':' || file_row_number as submission_id,
    la_code,
    table_name,
    return_period,
    source_file,
    source_sha256,
    received_at,
    file_row_number as ledger_sequence,
    outcome,
    rows_in,
    rows_loaded,
    rows_rejected,
    warnings,
    reason,
    version_rows_loaded,
    is_pending,
    is_accepted,
    is_accepted and accepted_recency = 1 as is_current_version
from flagged
