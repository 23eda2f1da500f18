-- Unit cost of high needs provision by LA, financial year, provision type and spend type:
-- spend / average caseload, where the average caseload is the mean of the two January censuses
-- spanning the financial year (January of its start year and January of its end year).

with spend as (
    select
        spend.*,
        {{ fy_start_year('spend.financial_year') }} as start_census_year
    from {{ ref('fct_hnb_spend') }} as spend
    inner join {{ ref('code_provision_type') }} as provisions
        on spend.provision_type = provisions.code
),

covered_censuses as (
    select
        coverage.la_code,
        census_dates.census_year
    from {{ ref('int_placements_coverage') }} as coverage
    inner join {{ ref('int_census_dates') }} as census_dates
        on census_dates.census_year <= coverage.latest_census_year
),

-- Caseload per covered census and provision, zero where the census has no plan of that provision.
caseload as (
    select
        covered_censuses.la_code,
        covered_censuses.census_year,
        provisions.code as provision_type,
        coalesce(sum(census.ehcp_count), 0) as ehcp_count
    from covered_censuses
    cross join {{ ref('code_provision_type') }} as provisions
    left join {{ ref('fct_ehcp_census') }} as census
        on
            census.la_code = covered_censuses.la_code
            and census.census_year = covered_censuses.census_year
            and census.provision_type = provisions.code
    group by covered_censuses.la_code, covered_censuses.census_year, provisions.code
),

-- Child-level cost: placements active at either census spanning the year, where a cost is given.
placement_costs as (
    select
        la_code,
        census_year,
        provision_type,
        sum(annual_cost_gbp) as total_cost_gbp,
        count(annual_cost_gbp) as costed_placements
    from {{ ref('int_census_plans') }}
    group by la_code, census_year, provision_type
),

joined as (
    select
        spend.la_code,
        spend.financial_year,
        spend.provision_type,
        spend.spend_type,
        spend.spend_gbp,
        start_caseload.ehcp_count as start_census_ehcp_count,
        end_caseload.ehcp_count as end_census_ehcp_count,
        (start_caseload.ehcp_count + end_caseload.ehcp_count) / 2.0 as average_ehcp_count,
        coalesce(start_costs.costed_placements, 0) + coalesce(end_costs.costed_placements, 0) as costed_placements,
        coalesce(start_costs.total_cost_gbp, 0) + coalesce(end_costs.total_cost_gbp, 0) as total_placement_cost_gbp
    from spend
    left join caseload as start_caseload
        on
            start_caseload.la_code = spend.la_code
            and start_caseload.census_year = spend.start_census_year
            and start_caseload.provision_type = spend.provision_type
    left join caseload as end_caseload
        on
            end_caseload.la_code = spend.la_code
            and end_caseload.census_year = spend.start_census_year + 1
            and end_caseload.provision_type = spend.provision_type
    left join placement_costs as start_costs
        on
            start_costs.la_code = spend.la_code
            and start_costs.census_year = spend.start_census_year
            and start_costs.provision_type = spend.provision_type
    left join placement_costs as end_costs
        on
            end_costs.la_code = spend.la_code
            and end_costs.census_year = spend.start_census_year + 1
            and end_costs.provision_type = spend.provision_type
)

select
    la_code,
    financial_year,
    provision_type,
    spend_type,
    spend_gbp,
    cast(start_census_ehcp_count as bigint) as start_census_ehcp_count,
    cast(end_census_ehcp_count as bigint) as end_census_ehcp_count,
    cast(average_ehcp_count as double) as average_ehcp_count,
    cast(spend_gbp / nullif(average_ehcp_count, 0) as double) as unit_cost_gbp,
    cast(costed_placements as bigint) as costed_placements,
    cast(total_placement_cost_gbp / nullif(costed_placements, 0) as double) as mean_placement_cost_gbp
from joined
