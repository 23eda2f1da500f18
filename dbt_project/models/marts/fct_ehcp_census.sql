-- EHCP caseload at each January census by LA, provision type, primary need and age group.

select
    la_code,
    census_year,
    census_date,
    provision_type,
    primary_need,
    age_group,
    count(*) as ehcp_count
from {{ ref('int_census_plans') }}
group by la_code, census_year, census_date, provision_type, primary_need, age_group
