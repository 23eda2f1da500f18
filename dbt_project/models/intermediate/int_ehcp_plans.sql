-- One row per EHC plan (LA, child, ehcp_start_date). Plan attributes are taken from the plan's
-- latest placement spell; first and last provision types are those of its first and last spells.

with spells as (
    select
        *,
        first_value(provision_type) over (partition by plan_id order by spell_number) as first_provision_type,
        count(*) over (partition by plan_id) as spell_count
    from {{ ref('int_placement_spells') }}
)

select
    plan_id,
    la_code,
    child_id,
    date_of_birth,
    sex,
    primary_need,
    ehcp_start_date,
    ehcp_end_date,
    cease_reason,
    first_provision_type,
    provision_type as last_provision_type,
    spell_count
from spells
where spell_number = spell_count
