{{ config(meta={'dagster': {'ref': {'name': 'fct_ehcp_census'}, 'description': "Each census total is at most the LA's distinct plans"}}) }}
-- Reconciliation: at each census an LA's caseload is at most its distinct plans
-- (child, ehcp_start_date) in stg_raw__placements.

with plans as (
    select la_code, count(distinct(child_id, ehcp_start_date)) as distinct_plans
    from {{ ref('stg_raw__placements') }}
    group by la_code
),

census_totals as (
    select la_code, census_year, sum(ehcp_count) as ehcp_count
    from {{ ref('fct_ehcp_census') }}
    group by la_code, census_year
)

select
    census_totals.*,
    plans.distinct_plans
from census_totals
left join plans
    on census_totals.la_code = plans.la_code
where census_totals.ehcp_count > coalesce(plans.distinct_plans, 0)
