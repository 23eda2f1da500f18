-- DfE's published number of EHC plans (and, before 2019, statements) at the January census, one row
-- per area and year. all_plans = EHC plans + statements: the caseload series continuous across the 2014 reform.

with source as (
    select * from {{ source('public', 'caseload') }}
)

select distinct
    {{ public_key_columns() }},
    ehcplans as ehcp_count,
    total_statements as statements,
    (coalesce(ehcplans, 0) + coalesce(total_statements, 0))::bigint as all_plans
from source
where ehcplans is not null or total_statements is not null
