-- DfE's LA caseload on current boundaries, one row per LA (or harmonised area) and January census,
-- 2010 onwards from both release layouts. LAs in a boundary change (seed la_boundary_changes) are
-- added up into one harmonised area on both sides of it (838+839 = Dorset county + Poole + Bournemouth
-- before April 2019), so each series covers one area throughout.

with totals as (
    select * from {{ ref('stg_public__caseload_totals') }}
    where geographic_level = 'Local authority'
),

newplans as (
    select * from {{ ref('stg_public__newplans') }}
    where geographic_level = 'Local authority'
),

boundary_changes as (
    select * from {{ ref('la_boundary_changes') }}
),

harmonised as (
    select distinct predecessor_code as old_la_code, harmonised_code, harmonised_name from boundary_changes
    union
    select distinct successor_code as old_la_code, harmonised_code, harmonised_name from boundary_changes
),

mapped as (
    select
        coalesce(harmonised.harmonised_code, totals.old_la_code) as la_code,
        coalesce(harmonised.harmonised_name, totals.la_name) as la_name,
        harmonised.harmonised_code is not null as harmonised,
        totals.old_la_code,
        totals.census_year,
        totals.ehcplans,
        totals.statements,
        totals.all_plans,
        newplans.new_plans
    from totals
    left join harmonised on harmonised.old_la_code = totals.old_la_code
    left join newplans
        on
            newplans.old_la_code = totals.old_la_code
            and newplans.census_year = totals.census_year
)

select
    la_code,
    {{ arg_max('la_name', 'census_year') }} as la_name,
    bool_or(harmonised) as harmonised,
    {{ string_agg_ordered('old_la_code', "'+'", 'old_la_code') }} as old_la_codes,
    census_year,
    sum(ehcplans)::bigint as ehcplans,
    sum(statements)::bigint as statements,
    sum(all_plans)::bigint as all_plans,
    sum(new_plans)::bigint as new_plans
from mapped
group by la_code, census_year
