-- One row per DSG management plan age group.

select
    code as age_group,
    label,
    sort_order
from {{ ref('code_age_group') }}
