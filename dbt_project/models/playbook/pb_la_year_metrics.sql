-- Playbook metrics per LA and year, in long form (la_code, year, metric, value). `year` is the year
-- of the January census: census metrics at that census, flows in the twelve months to it, money in
-- the financial year that contains it (year 2025 = January 2025 census = flow year to January 2025
-- = financial year 2024-25). Metrics without a value (a division by zero, no earlier census) are left out.

with census as (
    select
        la_code,
        census_year as year,
        provision_type,
        sum(ehcp_count) as plans
    from {{ ref('fct_ehcp_census') }}
    group by la_code, census_year, provision_type
),

totals as (
    select
        la_code,
        year,
        sum(plans) as ehcp_count
    from census
    group by la_code, year
),

caseload_metrics as (
    select la_code, year, 'ehcp_count' as metric, ehcp_count as value
    from totals

    union all

    select now.la_code, now.year, 'ehcp_growth_pct', 100.0 * (now.ehcp_count / nullif(prev.ehcp_count, 0) - 1)
    from totals as now
    inner join totals as prev
        on
            prev.la_code = now.la_code
            and prev.year = now.year - 1

    union all

    select
        now.la_code, now.year, 'ehcp_cagr_3y_pct',
        100.0 * (power(now.ehcp_count / nullif(base.ehcp_count, 0), 1.0 / 3) - 1)
    from totals as now
    inner join totals as base
        on
            base.la_code = now.la_code
            and base.year = now.year - 3
),

-- Placement mix: six groups that partition the caseload, so they add up to 100%.
mix_groups as (
    select * from (
        values
        ('MAINSTREAM', 'pct_mainstream'), ('RP_UNIT', 'pct_mainstream'), ('MSS', 'pct_mss'),
        ('INMSS', 'pct_inmss'), ('AP', 'pct_ap'), ('POST16', 'pct_post16')
    ) as groups (provision_type, metric)
),

mix_plans as (
    select
        census.la_code,
        census.year,
        coalesce(mix_groups.metric, 'pct_other') as metric,
        sum(census.plans) as plans
    from census
    left join mix_groups
        on mix_groups.provision_type = census.provision_type
    group by all
),

mix_metrics as (
    select
        totals.la_code,
        totals.year,
        metrics.metric,
        100.0 * coalesce(mix_plans.plans, 0) / nullif(totals.ehcp_count, 0) as value
    from totals
    cross join (
        select distinct metric from mix_groups
        union
        select 'pct_other'
    ) as metrics
    left join mix_plans
        on
            mix_plans.la_code = totals.la_code
            and mix_plans.year = totals.year
            and mix_plans.metric = metrics.metric
),

flows as (
    select
        totals.la_code,
        totals.year,
        coalesce(sum(flows.flow_count) filter (where flows.flow_type = 'NEW'), 0) as new_plans,
        coalesce(sum(flows.flow_count) filter (where flows.flow_type = 'CEASED'), 0) as ceased_plans
    from totals
    left join {{ ref('fct_ehcp_flows') }} as flows
        on
            flows.la_code = totals.la_code
            and flows.flow_year = totals.year
    group by totals.la_code, totals.year
),

flow_metrics as (
    select la_code, year, 'new_plans' as metric, new_plans as value from flows
    union all
    select la_code, year, 'ceased_plans', ceased_plans from flows
    union all
    select flows.la_code, flows.year, 'new_plans_pct_of_caseload', 100.0 * flows.new_plans / nullif(prev.ehcp_count, 0)
    from flows
    inner join totals as prev on prev.la_code = flows.la_code and prev.year = flows.year - 1
    union all
    select flows.la_code, flows.year, 'ceased_plans_pct_of_caseload', 100.0 * flows.ceased_plans / nullif(prev.ehcp_count, 0)
    from flows
    inner join totals as prev on prev.la_code = flows.la_code and prev.year = flows.year - 1
),

-- Money is cast to double in each branch: a union of decimals of different scales keeps only the
-- scale that fits 38 digits on Spark (2 decimal places here).
money_metrics as (
    select
        la_code,
        {{ fy_start_year('financial_year') }} + 1 as year,
        'unit_cost_' || lower(provision_type) as metric,
        cast(unit_cost_gbp as double) as value
    from {{ ref('fct_unit_cost') }}
    where
        spend_type = 'OUTTURN'
        and provision_type in ('MAINSTREAM', 'RP_UNIT', 'MSS', 'INMSS', 'AP', 'POST16', 'EARLY_YEARS', 'EOTAS')

    union all

    select la_code, {{ fy_start_year('financial_year') }} + 1, 'hnb_spend_gbp', cast(sum(spend_gbp) as double)
    from {{ ref('fct_hnb_spend') }}
    where spend_type = 'OUTTURN'
    group by la_code, financial_year

    union all

    select la_code, {{ fy_start_year('financial_year') }} + 1, 'dsg_in_year_balance_pct', cast(in_year_balance_pct_of_income as double)
    from {{ ref('fct_dsg_balance') }}
    where scenario = 'ACTUAL'

    union all

    select
        la_code, {{ fy_start_year('financial_year') }} + 1, 'dsg_cumulative_balance_pct', cast(cumulative_balance_pct_of_income as double)
    from {{ ref('fct_dsg_balance') }}
    where scenario = 'ACTUAL'

    union all

    select la_code, {{ fy_start_year('financial_year') }} + 1, 'dsg_cumulative_balance_gbp', cast(cumulative_balance_gbp as double)
    from {{ ref('fct_dsg_balance') }}
    where scenario = 'ACTUAL'
),

all_metrics as (
    select * from caseload_metrics
    union all
    select * from mix_metrics
    union all
    select * from flow_metrics
    union all
    select * from money_metrics
)

select
    all_metrics.la_code,
    cast(all_metrics.year as integer) as year,
    case catalogue.basis
        when 'census' then 'January ' || all_metrics.year
        when 'flow_year' then 'year to January ' || all_metrics.year
        else (all_metrics.year - 1) || '-' || right(cast(all_metrics.year as string), 2)
    end as period_label,
    all_metrics.metric,
    cast(all_metrics.value as double) as value
from all_metrics
left join {{ ref('pb_metric_catalogue') }} as catalogue
    on catalogue.metric = all_metrics.metric
where all_metrics.value is not null
