{{ config(**incremental_by_la()) }}

-- Placements are a full refresh: each LA's spell history is its current version of its latest
-- return period that has rows. Built per LA (macros/incremental_by_la.sql): a run reloads only
-- the LAs whose current version changed.

with latest_versions as (
    select la_code, return_period, source_sha256
    from (
        select
            la_code,
            return_period,
            source_sha256,
            row_number() over (partition by la_code order by return_period desc) as period_recency
        from {{ ref('stg_raw__submissions') }}
        where table_name = 'placements' and is_current_version and version_rows_loaded > 0
    ) as versions
    where period_recency = 1
),

version_rows as (
    select *
    from {{ source('raw', 'placements') }}
    {{ where_la_is_stale('la_code', 'latest_versions') }}
)

select
    version_rows.la_code,
    version_rows.child_id,
    version_rows.date_of_birth,
    version_rows.sex,
    version_rows.primary_need,
    version_rows.ehcp_start_date,
    version_rows.ehcp_end_date,
    version_rows.cease_reason,
    version_rows.provision_type,
    version_rows.setting_urn,
    version_rows.placement_start_date,
    version_rows.placement_end_date,
    version_rows.annual_cost_gbp,
    version_rows.return_period,
    version_rows.source_file,
    version_rows.source_sha256,
    version_rows.source_line,
    version_rows.received_at
from version_rows
inner join latest_versions
    on
        version_rows.la_code = latest_versions.la_code
        and version_rows.return_period = latest_versions.return_period
        and version_rows.source_sha256 = latest_versions.source_sha256
