{{ config(
    severity='warn',
    meta={'dagster': {
        'description': 'No plan counted at a census for a young person over 25 (the plan should have ceased)'
    }}
) }}
-- Plans counted at a census for a young person over 25 on 31 August before the academic year:
-- the plan should have ceased. They are counted in AGE_20_25; this lists them.

select
    la_code,
    census_year,
    plan_id,
    date_of_birth,
    age
from {{ ref('int_census_plans') }}
where age > 25
