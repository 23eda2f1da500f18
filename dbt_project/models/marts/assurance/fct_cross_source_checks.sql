-- The cross-source and roll-forward warnings of spec §4 (rules W_CASELOAD_DFE, W_HNB_VS_DSG,
-- W_UNIT_COST, W_ROLL_FORWARD), one row per comparison: the LA's value, what it is compared with,
-- the measure, the contract's threshold (seed assurance_thresholds) and whether it is breached.
-- The same comparisons as the GX warnings the LA's feedback report lists (assurance/derive.py).

with thresholds as (
    select rule_code, measure, threshold, compares_with
    from {{ ref('assurance_thresholds') }}
),

-- The only columns read from the public mart, each named once here.
public_caseload as (
    select
        geographic_level,
        la_code,
        census_year,
        total_ehcp_count as published_total
    from {{ ref('fct_public_ehcp_caseload') }}
),

-- DfE's published caseload per LA and January census (its total, repeated on each provision row).
dfe_caseload as (
    select
        la_code,
        census_year,
        max(published_total) as dfe_caseload
    from public_caseload
    where geographic_level = 'Local authority' and published_total is not null
    group by la_code, census_year
),

la_caseload as (
    select
        la_code,
        census_year,
        sum(ehcp_count) as la_caseload
    from {{ ref('fct_ehcp_census') }}
    group by la_code, census_year
),

caseload as (
    select
        'W_CASELOAD_DFE' as rule_code,
        la_caseload.la_code,
        la_caseload.census_year,
        cast(null as {{ dbt.type_string() }}) as financial_year,
        cast(null as {{ dbt.type_string() }}) as scenario,
        cast(null as {{ dbt.type_string() }}) as provision_type,
        cast(null as {{ dbt.type_string() }}) as spend_type,
        cast(la_caseload.la_caseload as double) as la_value,
        cast(dfe_caseload.dfe_caseload as double) as compared_value
    from la_caseload
    inner join dfe_caseload
        on
            la_caseload.la_code = dfe_caseload.la_code
            and la_caseload.census_year = dfe_caseload.census_year
),

hnb_outturn as (
    select
        la_code,
        financial_year,
        sum(spend_gbp) as hnb_outturn_gbp
    from {{ ref('fct_hnb_spend') }}
    where spend_type = 'OUTTURN'
    group by la_code, financial_year
),

dsg as (
    select
        la_code,
        financial_year,
        cast(substr(financial_year, 1, 4) as integer) as start_year,
        scenario,
        hnb_expenditure_gbp,
        in_year_balance_gbp,
        cumulative_balance_gbp
    from {{ ref('fct_dsg_balance') }}
),

hnb_vs_dsg as (
    select
        'W_HNB_VS_DSG' as rule_code,
        hnb_outturn.la_code,
        cast(null as integer) as census_year,
        hnb_outturn.financial_year,
        dsg.scenario,
        cast(null as {{ dbt.type_string() }}) as provision_type,
        'OUTTURN' as spend_type,
        cast(hnb_outturn.hnb_outturn_gbp as double) as la_value,
        cast(dsg.hnb_expenditure_gbp as double) as compared_value
    from hnb_outturn
    inner join dsg
        on
            hnb_outturn.la_code = dsg.la_code
            and hnb_outturn.financial_year = dsg.financial_year
            and dsg.scenario = 'ACTUAL'
),

-- A year follows the previous ACTUAL year; a forecast with no ACTUAL year before it follows its own
-- scenario's previous year. The first year of a chain is not compared.
roll_forward as (
    select
        'W_ROLL_FORWARD' as rule_code,
        dsg.la_code,
        cast(null as integer) as census_year,
        dsg.financial_year,
        dsg.scenario,
        cast(null as {{ dbt.type_string() }}) as provision_type,
        cast(null as {{ dbt.type_string() }}) as spend_type,
        cast(dsg.cumulative_balance_gbp as double) as la_value,
        cast(
            case
                when previous_actual.la_code is not null then previous_actual.cumulative_balance_gbp
                else previous_own.cumulative_balance_gbp
            end
            + dsg.in_year_balance_gbp as double
        ) as compared_value
    from dsg
    left join dsg as previous_actual
        on
            dsg.la_code = previous_actual.la_code
            and dsg.start_year - 1 = previous_actual.start_year
            and previous_actual.scenario = 'ACTUAL'
    left join dsg as previous_own
        on
            dsg.la_code = previous_own.la_code
            and dsg.start_year - 1 = previous_own.start_year
            and dsg.scenario = previous_own.scenario
            and dsg.scenario != 'ACTUAL'
    where previous_actual.la_code is not null or previous_own.la_code is not null
),

costed as (
    select
        la_code,
        financial_year,
        provision_type,
        spend_type,
        unit_cost_gbp
    from {{ ref('fct_unit_cost') }}
    where unit_cost_gbp > 0
),

national_median as (
    select
        financial_year,
        provision_type,
        spend_type,
        {{ quantile_cont('unit_cost_gbp', 0.5) }} as median_unit_cost_gbp
    from costed
    group by financial_year, provision_type, spend_type
),

unit_cost as (
    select
        'W_UNIT_COST' as rule_code,
        costed.la_code,
        cast(null as integer) as census_year,
        costed.financial_year,
        cast(null as {{ dbt.type_string() }}) as scenario,
        costed.provision_type,
        costed.spend_type,
        cast(costed.unit_cost_gbp as double) as la_value,
        cast(national_median.median_unit_cost_gbp as double) as compared_value
    from costed
    inner join national_median
        on
            costed.financial_year = national_median.financial_year
            and costed.provision_type = national_median.provision_type
            and costed.spend_type = national_median.spend_type
),

comparisons as (
    select * from caseload
    union all
    select * from hnb_vs_dsg
    union all
    select * from roll_forward
    union all
    select * from unit_cost
),

measured as (
    select
        comparisons.*,
        thresholds.compares_with,
        thresholds.measure,
        thresholds.threshold,
        case thresholds.measure
            when 'gap_gbp' then comparisons.la_value - comparisons.compared_value
            when 'gap_ratio'
                then (comparisons.la_value - comparisons.compared_value) / nullif(comparisons.compared_value, 0)
            when 'ratio' then comparisons.la_value / nullif(comparisons.compared_value, 0)
        end as measured_value
    from comparisons
    inner join thresholds on comparisons.rule_code = thresholds.rule_code
)

select
    cast(rule_code as {{ dbt.type_string() }}) as rule_code,
    cast(la_code as {{ dbt.type_string() }}) as la_code,
    cast(census_year as bigint) as census_year,
    cast(financial_year as {{ dbt.type_string() }}) as financial_year,
    cast(scenario as {{ dbt.type_string() }}) as scenario,
    cast(provision_type as {{ dbt.type_string() }}) as provision_type,
    cast(spend_type as {{ dbt.type_string() }}) as spend_type,
    la_value,
    cast(compares_with as {{ dbt.type_string() }}) as compares_with,
    compared_value,
    cast(la_value - compared_value as double) as difference,
    cast(measure as {{ dbt.type_string() }}) as measure,
    cast(measured_value as double) as measured_value,
    cast(threshold as double) as threshold,
    coalesce(
        case
            when measure = 'ratio' then measured_value > threshold
            else abs(measured_value) > threshold
        end,
        false
    ) as is_breached
from measured
