-- One row per LA with placements: the version the marts use and the latest January census it
-- covers, i.e. the latest census on or before both the end of the return period and the date the
-- version was received.

with versions as (
    select
        la_code,
        return_period,
        source_sha256,
        min(received_at) as received_at
    from {{ ref('stg_raw__placements') }}
    group by la_code, return_period, source_sha256
),

covered as (
    select
        *,
        least({{ fy_end_date('return_period') }}, received_at::date) as covered_to
    from versions
),

latest_census as (
    select
        *,
        {{ last_census_year_to('covered_to') }} as latest_census_year
    from covered
)

select
    la_code,
    return_period,
    source_sha256,
    received_at,
    covered_to,
    latest_census_year,
    {{ census_date('latest_census_year') }} as latest_census_date
from latest_census
