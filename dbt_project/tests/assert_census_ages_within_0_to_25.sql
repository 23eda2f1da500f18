{{ config(severity='warn') }}
-- Plans counted at a census for a young person over 25 on 31 August before the academic year:
-- the plan should have ceased. They are counted in AGE_20_25; this lists them.

select
    la_code,
    census_year,
    plan_id,
    date_of_birth,
    {{ age_in_years('date_of_birth', academic_year_age_date('census_date')) }} as age
from {{ ref('int_census_plans') }}
where {{ age_in_years('date_of_birth', academic_year_age_date('census_date')) }} > 25
