-- The comparison groups each LA with data belongs to: its PROGRAMME (DBV, SAFETY_VALVE or NONE; an
-- LA missing from dim_la counts as NONE), for DBV LAs its TRANCHE, and ENGLAND (every LA with data).
-- group_name is the group in a sentence; group_phrase ends a benchmark phrase ("top 20% of the DBV cohort").

with las as (
    select distinct
        metrics.la_code,
        coalesce(dim_la.programme, 'NONE') as programme,
        dim_la.tranche
    from {{ ref('pb_la_year_metrics') }} as metrics
    left join {{ ref('dim_la') }} as dim_la
        on dim_la.la_code = metrics.la_code
)

select
    la_code,
    'PROGRAMME' as group_type,
    programme as group_code,
    case programme
        when 'DBV' then 'DBV cohort'
        when 'SAFETY_VALVE' then 'Safety Valve LAs'
        else 'LAs in neither programme'
    end as group_label,
    case programme
        when 'DBV' then 'the DBV cohort'
        when 'SAFETY_VALVE' then 'the Safety Valve LAs'
        else 'LAs in neither programme'
    end as group_name,
    case programme
        when 'DBV' then 'of the DBV cohort'
        when 'SAFETY_VALVE' then 'of the Safety Valve LAs'
        else 'of LAs in neither programme'
    end as group_phrase,
    1 as group_order
from las

union all

select la_code, 'TRANCHE', 'DBV_T' || tranche, 'DBV tranche ' || tranche, 'DBV tranche ' || tranche, 'of DBV tranche ' || tranche, 2
from las
where programme = 'DBV' and tranche is not null

union all

select la_code, 'ENGLAND', 'ENGLAND', 'England', 'England', 'in England', 3
from las
