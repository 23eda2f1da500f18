-- Every finding of every processed file (file rejected, row rejected, warning). A file whose
-- name names no LA has no la_code in its findings: the LA is that of its folder,
-- raw/findings/<la_code>/.

with source as (
    select * from {{ source('raw', 'findings') }}
)

select
    coalesce(la_code, regexp_extract(filename, '/findings/([^/]+)/[^/]+$', 1)) as la_code,
    table_name,
    return_period,
    source_file,
    source_sha256,
    received_at,
    severity,
    rule_code,
    line,
    column_name,
    value,
    message
from source
