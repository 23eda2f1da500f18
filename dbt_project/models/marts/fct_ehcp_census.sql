{{ config(**incremental_by_la()) }}

-- EHCP caseload at each January census by LA, provision type, primary need and age group.
-- Built per LA (macros/incremental_by_la.sql).

select
    la_code,
    cast(census_year as bigint) as census_year,
    census_date,
    provision_type,
    primary_need,
    age_group,
    count(*) as ehcp_count,
    any_value(source_sha256) as source_sha256
from {{ ref('int_census_plans') }}
{{ where_la_is_stale('la_code', ref('int_census_plans')) }}
group by la_code, census_year, census_date, provision_type, primary_need, age_group
