-- One row per January census from var('first_census_year') to the latest census any LA's
-- placements cover, with the first day of the flow year that ends on it.

with years as (
    select {{ unnest_range(
        var('first_census_year'),
        'coalesce((select max(latest_census_year) from ' ~ ref('int_placements_coverage') ~ '), 0) + 1'
    ) }} as census_year
)

select
    census_year,
    {{ census_date('census_year') }} as census_date,
    {{ census_date('census_year - 1') }} + 1 as flow_period_start
from years
