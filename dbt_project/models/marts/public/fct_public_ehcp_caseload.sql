-- DfE's published EHC plans at the January census by contract provision type: one row per area
-- (England, region, LA), census year and provision type. EHC plans only: censuses with statements
-- alone (2010-2014) are left out; statements stay in stg_public__caseload_totals and the history mart.

with caseload as (
    select * from {{ ref('stg_public__caseload') }}
),

totals as (
    select * from {{ ref('stg_public__caseload_totals') }}
),

by_provision as (
    select
        geographic_level,
        area_code,
        census_year,
        provision_type,
        cast(sum(ehcp_count) as bigint) as ehcp_count
    from caseload
    group by geographic_level, area_code, census_year, provision_type
)

select
    totals.geographic_level,
    totals.area_code,
    totals.area_name,
    totals.region_code,
    totals.region_name,
    totals.la_code,
    totals.la_name,
    totals.time_period,
    cast(totals.census_year as bigint) as census_year,
    by_provision.provision_type,
    by_provision.ehcp_count,
    cast(100.0 * by_provision.ehcp_count / nullif(sum(by_provision.ehcp_count) over (
        partition by totals.geographic_level, totals.area_code, totals.census_year
    ), 0) as double) as pct_of_plans_by_placement,
    cast(totals.ehcp_count as bigint) as total_ehcp_count
from by_provision
inner join totals
    on
        by_provision.geographic_level = totals.geographic_level
        and by_provision.area_code = totals.area_code
        and by_provision.census_year = totals.census_year
where totals.ehcp_count is not null
