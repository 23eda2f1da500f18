{{ config(**incremental_by_la()) }}

-- One row per placement spell with its plan: a plan is (LA, child, ehcp_start_date). Spells of a
-- plan are numbered in order of placement_start_date; previous_provision_type is the provision of
-- the spell before (within the same plan). Built per LA (macros/incremental_by_la.sql).

with spells as (
    select
        la_code || '/' || child_id || '/' || cast(ehcp_start_date as string) as plan_id,
        *
    from {{ ref('stg_raw__placements') }}
    {{ where_la_is_stale('la_code', ref('stg_raw__placements')) }}
)

select
    plan_id,
    row_number() over plan_spells as spell_number,
    lag(provision_type) over plan_spells as previous_provision_type,
    la_code,
    child_id,
    date_of_birth,
    sex,
    primary_need,
    ehcp_start_date,
    ehcp_end_date,
    cease_reason,
    provision_type,
    setting_urn,
    placement_start_date,
    placement_end_date,
    annual_cost_gbp,
    source_line,
    source_sha256
from spells
window plan_spells as (
    partition by plan_id
    order by placement_start_date, placement_end_date nulls last, source_line
)
