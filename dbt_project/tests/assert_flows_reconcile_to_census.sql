{{ config(meta={'dagster': {'ref': {'name': 'fct_ehcp_flows'}, 'description': 'caseload(Y) = caseload(Y-1) + new(Y) - ceased(Y)'}}) }}
-- Stock and flow reconcile: for each LA and census year after the first,
-- caseload(Y) = caseload(Y-1) + NEW(Y) - CEASED(Y).

with census_totals as (
    select la_code, census_year, sum(ehcp_count) as ehcp_count
    from {{ ref('fct_ehcp_census') }}
    group by la_code, census_year
),

flow_totals as (
    select
        la_code,
        flow_year,
        sum(flow_count) filter (where flow_type = 'NEW') as new_plans,
        sum(flow_count) filter (where flow_type = 'CEASED') as ceased_plans
    from {{ ref('fct_ehcp_flows') }}
    group by la_code, flow_year
),

years as (
    select
        coverage.la_code,
        census_dates.census_year
    from {{ ref('int_placements_coverage') }} as coverage
    inner join {{ ref('int_census_dates') }} as census_dates
        on
            census_dates.census_year <= coverage.latest_census_year
            and census_dates.census_year > {{ var('first_census_year') }}
)

select
    years.la_code,
    years.census_year,
    coalesce(current_census.ehcp_count, 0) as caseload,
    coalesce(previous_census.ehcp_count, 0) as previous_caseload,
    coalesce(flow_totals.new_plans, 0) as new_plans,
    coalesce(flow_totals.ceased_plans, 0) as ceased_plans
from years
left join census_totals as current_census
    on current_census.la_code = years.la_code and current_census.census_year = years.census_year
left join census_totals as previous_census
    on previous_census.la_code = years.la_code and previous_census.census_year = years.census_year - 1
left join flow_totals
    on flow_totals.la_code = years.la_code and flow_totals.flow_year = years.census_year
where
    coalesce(current_census.ehcp_count, 0)
    <> coalesce(previous_census.ehcp_count, 0) + coalesce(flow_totals.new_plans, 0) - coalesce(flow_totals.ceased_plans, 0)
