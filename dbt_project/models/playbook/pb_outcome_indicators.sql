-- DfE's published outcome indicators per LA (and England) and year, in tidy form for the DBV
-- evaluation. `year` is the calendar year: activity measures are for that year, caseload measures
-- are at the January census that closes it (census_year = year + 1), as DfE's release aligns them.
-- Years before an indicator's collection break (seed outcome_indicator_breaks) are left out.

with indicators as (
    select * from {{ ref('fct_public_ehcp_indicators') }}
    where geographic_level in ('National', 'Local authority')
),

growth as (
    select
        now.geographic_level,
        now.area_code,
        now.census_year,
        100.0 * (now.all_plans / nullif(prev.all_plans, 0) - 1) as ehcp_growth_pct
    from indicators as now
    inner join indicators as prev
        on prev.geographic_level = now.geographic_level
        and prev.area_code = now.area_code
        and prev.census_year = now.census_year - 1
),

wide as (
    select indicators.*, growth.ehcp_growth_pct
    from indicators
    left join growth
        on growth.geographic_level = indicators.geographic_level
        and growth.area_code = indicators.area_code
        and growth.census_year = indicators.census_year
),

tidy as (
    unpivot wide
    on
        pct_issued_within_20_weeks as timeliness_20wk_pct,
        pct_issued_within_20_weeks_excl_exceptions as timeliness_20wk_excl_exceptions_pct,
        pct_in_mainstream as public_pct_mainstream,
        pct_in_inmss as public_pct_inmss,
        ehcp_growth_pct as public_ehcp_growth_pct,
        pct_requests_refused as requests_refused_pct,
        tribunal_appeal_rate_pct as tribunal_appeal_rate_pct
    into name indicator value value
),

breaks as (
    select * from {{ ref('outcome_indicator_breaks') }}
)

select
    tidy.geographic_level,
    tidy.area_code,
    tidy.area_name,
    tidy.old_la_code as la_code,
    tidy.calendar_year as year,
    tidy.census_year,
    tidy.indicator,
    tidy.value::double as value
from tidy
left join breaks on breaks.indicator = tidy.indicator
where tidy.value is not null
    and (breaks.first_year is null or tidy.calendar_year >= breaks.first_year)
