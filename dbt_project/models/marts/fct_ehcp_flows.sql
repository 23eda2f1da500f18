{{ config(**incremental_by_la()) }}

-- Flows of EHC plans by LA and flow year: new plans, ceased plans by reason, and moves between
-- provision types. Flow year Y runs from the day after census Y-1 to census Y inclusive (a flow
-- on date d belongs to the year of the first census on or after d), so
-- caseload(Y) = caseload(Y-1) + new(Y) - ceased(Y). A plan ceases on the day after its
-- ehcp_end_date (the first day it no longer counts). Built per LA (macros/incremental_by_la.sql).

with flow_years as (
    select
        coverage.la_code,
        census_dates.census_year as flow_year,
        census_dates.flow_period_start,
        census_dates.census_date as flow_period_end
    from {{ ref('int_placements_coverage') }} as coverage
    inner join {{ ref('int_census_dates') }} as census_dates
        on census_dates.census_year <= coverage.latest_census_year
),

plans as (
    select * from {{ ref('int_ehcp_plans') }}
    {{ where_la_is_stale('la_code', ref('int_ehcp_plans')) }}
),

spells as (
    select * from {{ ref('int_placement_spells') }}
    {{ where_la_is_stale('la_code', ref('int_ehcp_plans')) }}
),

flows as (
    select
        plans.la_code,
        'NEW' as flow_type,
        plans.ehcp_start_date as flow_date,
        cast(null as string) as cease_reason,
        cast(null as string) as from_provision_type,
        plans.first_provision_type as to_provision_type
    from plans

    union all

    select
        plans.la_code,
        'CEASED' as flow_type,
        plans.ehcp_end_date + 1 as flow_date,
        plans.cease_reason,
        plans.last_provision_type as from_provision_type,
        cast(null as string) as to_provision_type
    from plans
    where plans.ehcp_end_date is not null

    union all

    select
        spells.la_code,
        'MOVE' as flow_type,
        spells.placement_start_date as flow_date,
        cast(null as string) as cease_reason,
        spells.previous_provision_type as from_provision_type,
        spells.provision_type as to_provision_type
    from spells
    where spells.provision_type <> spells.previous_provision_type
)

select
    flow_years.la_code,
    cast(flow_years.flow_year as bigint) as flow_year,
    flow_years.flow_period_start,
    flow_years.flow_period_end,
    flows.flow_type,
    flows.cease_reason,
    flows.from_provision_type,
    flows.to_provision_type,
    count(*) as flow_count,
    any_value(versions.source_sha256) as source_sha256
from flows
inner join flow_years
    on
        flows.la_code = flow_years.la_code
        and {{ first_census_year_from('flows.flow_date') }} = flow_years.flow_year
inner join (select distinct la_code, source_sha256 from plans) as versions
    on flows.la_code = versions.la_code
group by all
