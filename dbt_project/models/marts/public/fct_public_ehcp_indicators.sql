-- DfE's published EHCP indicators: one row per area (England, region, LA) and census year.
-- Activity measures are for the calendar year before the census (census_year − 1), as DfE reports them.

with totals as (
    select * from {{ ref('stg_public__caseload_totals') }}
),

caseload as (
    select * from {{ ref('stg_public__caseload') }}
),

newplans as (
    select * from {{ ref('stg_public__newplans') }}
),

requests as (
    select * from {{ ref('stg_public__requests') }}
),

assessments as (
    select * from {{ ref('stg_public__assessments') }}
),

timeliness as (
    select * from {{ ref('stg_public__timeliness_20_week') }}
),

tribunal as (
    select * from {{ ref('stg_public__tribunal_appeal_rates') }}
),

placements as (
    select
        geographic_level,
        area_code,
        census_year,
        cast(sum(ehcp_count) as bigint) as plans_by_placement,
        cast(sum(case when provision_type in ('MAINSTREAM', 'RP_UNIT') then ehcp_count end) as bigint) as mainstream_plans,
        cast(sum(case when provision_type = 'INMSS' then ehcp_count end) as bigint) as inmss_plans
    from caseload
    group by geographic_level, area_code, census_year
),

areas as (
    {% for relation in ['totals', 'newplans', 'requests', 'assessments', 'timeliness'] %}
        select geographic_level, area_code, census_year, area_name, region_code, region_name, la_code, la_name
        from {{ relation }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

spine as (
    select
        geographic_level,
        area_code,
        census_year,
        max(area_name) as area_name,
        max(region_code) as region_code,
        max(region_name) as region_name,
        max(la_code) as la_code,
        max(la_name) as la_name
    from areas
    group by geographic_level, area_code, census_year
)

select
    spine.geographic_level,
    spine.area_code,
    spine.area_name,
    spine.region_code,
    spine.region_name,
    spine.la_code,
    spine.la_name,
    cast(spine.census_year as bigint) as census_year,
    cast(spine.census_year - 1 as integer) as calendar_year,
    totals.ehcp_count,
    totals.statements,
    totals.all_plans,
    placements.plans_by_placement,
    cast(100.0 * placements.mainstream_plans / nullif(placements.plans_by_placement, 0) as double) as pct_in_mainstream,
    cast(100.0 * placements.inmss_plans / nullif(placements.plans_by_placement, 0) as double) as pct_in_inmss,
    newplans.new_plans,
    requests.requests_received,
    requests.requests_refused,
    cast(100.0 * requests.requests_refused / nullif(requests.requests_received, 0) as double) as pct_requests_refused,
    assessments.assessments,
    timeliness.plans_issued,
    timeliness.plans_issued_within_20_weeks,
    cast(100.0 * timeliness.plans_issued_within_20_weeks / nullif(timeliness.plans_issued, 0) as double)
        as pct_issued_within_20_weeks,
    timeliness.plans_issued_excl_exceptions,
    timeliness.plans_issued_within_20_weeks_excl_exceptions,
    cast(
        100.0 * timeliness.plans_issued_within_20_weeks_excl_exceptions
        / nullif(timeliness.plans_issued_excl_exceptions, 0) as double
    ) as pct_issued_within_20_weeks_excl_exceptions,
    tribunal.appeals_registered as tribunal_appeals,
    tribunal.appealable_decisions as tribunal_appealable_decisions,
    cast(tribunal.appeal_rate_pct as double) as tribunal_appeal_rate_pct
from spine
{% for relation in ['totals', 'placements', 'newplans', 'requests', 'assessments', 'timeliness', 'tribunal'] %}
    left join {{ relation }}
        on
            spine.geographic_level = {{ relation }}.geographic_level
            and spine.area_code = {{ relation }}.area_code
            and spine.census_year = {{ relation }}.census_year
{% endfor %}
