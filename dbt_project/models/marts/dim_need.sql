-- One row per primary need (SEN2 SENtype).

select
    code as primary_need,
    label,
    sort_order
from {{ ref('code_primary_need') }}
