-- Every row_rejected finding, with whether its file's version is current.
-- A view over the raw ledger and findings: always current, also after a rejected file or an
-- identical resend, which refresh nothing downstream (dbv_pipeline/automation.py).
{{ config(materialized='view') }}

with findings as (
    select * from {{ ref('stg_raw__findings') }}
    where severity = 'row_rejected'
),

submissions as (
    select * from {{ ref('stg_raw__submissions') }}
)

select
    findings.la_code,
    findings.table_name,
    findings.return_period,
    findings.source_file,
    findings.source_sha256,
    cast(findings.received_at as timestamp) as received_at,
    cast(findings.line as bigint) as line,
    findings.column_name,
    findings.value,
    findings.rule_code,
    findings.message,
    coalesce(submissions.is_current_version, false) as is_current_version
from findings
left join submissions
    on
        findings.la_code = submissions.la_code
        and findings.source_sha256 = submissions.source_sha256
        and findings.received_at = submissions.received_at
        and findings.table_name = submissions.table_name
