-- One row per January census from var('first_census_year') to the latest census any LA's
-- placements cover, with the first day of the flow year that ends on it.

with latest as (
    select coalesce(max(latest_census_year), 0) as latest_census_year
    from {{ ref('int_placements_coverage') }}
),

years as (
    select {{ unnest_range(var('first_census_year'), 'latest_census_year + 1') }} as census_year
    from latest
)

select
    census_year,
    {{ census_date('census_year') }} as census_date,
    {{ census_date('census_year - 1') }} + 1 as flow_period_start
from years
