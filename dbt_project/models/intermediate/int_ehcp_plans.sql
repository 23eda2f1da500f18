{{ config(**incremental_by_la()) }}

-- One row per EHC plan (LA, child, ehcp_start_date). Plan attributes are taken from the plan's
-- latest placement spell; first and last provision types are those of its first and last spells.
-- Built per LA (macros/incremental_by_la.sql).

select
    plan_id,
    any_value(la_code) as la_code,
    any_value(child_id) as child_id,
    {{ arg_max_null('date_of_birth', 'spell_number') }} as date_of_birth,
    {{ arg_max_null('sex', 'spell_number') }} as sex,
    {{ arg_max_null('primary_need', 'spell_number') }} as primary_need,
    any_value(ehcp_start_date) as ehcp_start_date,
    {{ arg_max_null('ehcp_end_date', 'spell_number') }} as ehcp_end_date,
    {{ arg_max_null('cease_reason', 'spell_number') }} as cease_reason,
    {{ arg_min_null('provision_type', 'spell_number') }} as first_provision_type,
    {{ arg_max_null('provision_type', 'spell_number') }} as last_provision_type,
    count(*) as spell_count,
    any_value(source_sha256) as source_sha256
from {{ ref('int_placement_spells') }}
{{ where_la_is_stale('la_code', ref('int_placement_spells')) }}
group by plan_id
