-- One row per provision type, including CENTRAL (high needs block spend only).

with hnb_provisions as (
    select * from {{ ref('code_hnb_provision_type') }}
),

placement_provisions as (
    select * from {{ ref('code_provision_type') }}
)

select
    hnb_provisions.code as provision_type,
    hnb_provisions.label,
    hnb_provisions.sort_order,
    placement_provisions.code is not null as is_placement_provision
from hnb_provisions
left join placement_provisions
    on hnb_provisions.code = placement_provisions.code
