-- One row per local authority, with its programme. LAs missing from programme_cohorts are in
-- neither programme (NONE).

with las as (
    select * from {{ ref('la_lookup') }}
),

cohorts as (
    select * from {{ ref('programme_cohorts') }}
)

select
    las.la_code,
    las.ons_la_code,
    las.la_name,
    las.region_code,
    las.region_name,
    coalesce(cohorts.programme, 'NONE') as programme,
    cohorts.tranche,
    cohorts.diagnostic_start_date,
    cohorts.source as cohort_source
from las
left join cohorts
    on las.la_code = cohorts.la_code
