-- The version ledger with its findings counted, one row per (file, table) event. A finding
-- belongs to the events of its file (LA, SHA-256, received_at) for its table; a finding that names
-- no table (a file-level rejection) belongs to every event of its file.
-- A view over the raw ledger and findings: always current, also after a rejected file or an
-- identical resend, which refresh nothing downstream (dbv_pipeline/automation.py).
{{ config(materialized='view') }}

with submissions as (
    select * from {{ ref('stg_raw__submissions') }}
),

findings as (
    select * from {{ ref('stg_raw__findings') }}
),

finding_counts as (
    select
        submissions.submission_id,
        count(*) filter (where findings.severity = 'file_rejected') as file_rejected_findings,
        count(*) filter (where findings.severity = 'row_rejected') as row_rejected_findings,
        count(distinct findings.line) filter (where findings.severity = 'row_rejected') as rejected_lines,
        count(*) filter (where findings.severity = 'warning') as warning_findings
    from submissions
    inner join findings
        on
            findings.la_code = submissions.la_code
            and findings.source_sha256 = submissions.source_sha256
            and findings.received_at = submissions.received_at
            and (findings.table_name is null or findings.table_name = submissions.table_name)
    group by submissions.submission_id
)

select
    submissions.submission_id,
    submissions.la_code,
    submissions.table_name,
    submissions.return_period,
    submissions.source_file,
    submissions.source_sha256,
    cast(submissions.received_at as timestamp) as received_at,
    cast(submissions.ledger_sequence as bigint) as ledger_sequence,
    submissions.outcome,
    submissions.reason,
    submissions.is_current_version,
    submissions.rows_in,
    submissions.rows_loaded,
    submissions.rows_rejected,
    submissions.warnings,
    coalesce(finding_counts.file_rejected_findings, 0) as file_rejected_findings,
    coalesce(finding_counts.row_rejected_findings, 0) as row_rejected_findings,
    coalesce(finding_counts.rejected_lines, 0) as rejected_lines,
    coalesce(finding_counts.warning_findings, 0) as warning_findings
from submissions
left join finding_counts
    on submissions.submission_id = finding_counts.submission_id
