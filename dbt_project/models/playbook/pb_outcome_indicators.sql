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
        on
            prev.geographic_level = now.geographic_level
            and prev.area_code = now.area_code
            and prev.census_year = now.census_year - 1
),

wide as (
    select indicators.*, growth.ehcp_growth_pct
    from indicators
    left join growth
        on
            growth.geographic_level = indicators.geographic_level
            and growth.area_code = indicators.area_code
            and growth.census_year = indicators.census_year
),

{%- set indicator_columns = {
    'timeliness_20wk_pct': 'pct_issued_within_20_weeks',
    'timeliness_20wk_excl_exceptions_pct': 'pct_issued_within_20_weeks_excl_exceptions',
    'public_pct_mainstream': 'pct_in_mainstream',
    'public_pct_inmss': 'pct_in_inmss',
    'public_ehcp_growth_pct': 'ehcp_growth_pct',
    'requests_refused_pct': 'pct_requests_refused',
    'tribunal_appeal_rate_pct': 'tribunal_appeal_rate_pct',
} %}

-- One row per area, year and indicator (wide unpivoted).
tidy as (
    {%- for indicator, column in indicator_columns.items() %}
        select
            geographic_level, area_code, area_name, la_code, calendar_year, census_year,
            '{{ indicator }}' as indicator, cast({{ column }} as double) as value
        from wide
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

breaks as (
    select * from {{ ref('outcome_indicator_breaks') }}
)

select
    tidy.geographic_level,
    tidy.area_code,
    tidy.area_name,
    tidy.la_code,
    tidy.calendar_year as year,
    tidy.census_year,
    tidy.indicator,
    tidy.value::double as value
from tidy
left join breaks on breaks.indicator = tidy.indicator
where
    tidy.value is not null
    and (breaks.first_year is null or tidy.calendar_year >= breaks.first_year)
