-- Placements are a full refresh: each LA's spell history is its current version of its
-- latest return period.

with current_rows as (
    {{ current_version_rows('placements') }}
),

latest_period as (
    select la_code, max(return_period) as return_period
    from current_rows
    group by la_code
)

select
    current_rows.la_code,
    current_rows.child_id,
    current_rows.date_of_birth,
    current_rows.sex,
    current_rows.primary_need,
    current_rows.ehcp_start_date,
    current_rows.ehcp_end_date,
    current_rows.cease_reason,
    current_rows.provision_type,
    current_rows.setting_urn,
    current_rows.placement_start_date,
    current_rows.placement_end_date,
    current_rows.annual_cost_gbp,
    current_rows.return_period,
    current_rows.source_file,
    current_rows.source_sha256,
    current_rows.source_line,
    current_rows.received_at
from current_rows
inner join latest_period
    on current_rows.la_code = latest_period.la_code
    and current_rows.return_period = latest_period.return_period
