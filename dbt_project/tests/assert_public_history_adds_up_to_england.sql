-- The harmonised LA history adds up to DfE's England total (EHC plans + statements) at every census
-- (fails with the years where it does not).

with history as (
    select census_year, sum(all_plans) as las
    from {{ ref('fct_public_ehcp_history') }}
    group by census_year
),

england as (
    select census_year, all_plans as england
    from {{ ref('stg_public__caseload_totals') }}
    where geographic_level = 'National'
)

select england.census_year, england.england, history.las
from england
left join history on history.census_year = england.census_year
where history.las is distinct from england.england
