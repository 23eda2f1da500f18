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
    select distinct predecessor_code as la_code, harmonised_code, harmonised_name from boundary_changes
    union
    select distinct successor_code as la_code, harmonised_code, harmonised_name from boundary_changes
),

mapped as (
    select
        coalesce(harmonised.harmonised_code, totals.la_code) as area_code,
        coalesce(harmonised.harmonised_name, totals.la_name) as area_name,
        harmonised.harmonised_code is not null as harmonised,
        totals.la_code,
        totals.census_year,
        totals.ehcp_count,
        totals.statements,
        totals.all_plans,
        newplans.new_plans
    from totals
    left join harmonised on harmonised.la_code = totals.la_code
    left join newplans
        on
            newplans.la_code = totals.la_code
            and newplans.census_year = totals.census_year
)

select
    area_code,
    {{ arg_max('area_name', 'census_year') }} as area_name,
    bool_or(harmonised) as harmonised,
    {{ string_agg_ordered('la_code', "'+'", 'la_code') }} as la_codes,
    cast(census_year as bigint) as census_year,
    cast(sum(ehcp_count) as bigint) as ehcp_count,
    cast(sum(statements) as bigint) as statements,
    cast(sum(all_plans) as bigint) as all_plans,
    cast(sum(new_plans) as bigint) as new_plans
from mapped
group by area_code, census_year
