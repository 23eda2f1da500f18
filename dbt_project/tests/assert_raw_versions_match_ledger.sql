{{ config(
    meta={'dagster': {
        'ref': {'name': 'stg_raw__submissions'},
        'description': 'Each current version holds the rows the ledger says were loaded'
    }}
) }}
-- Reconciliation of the raw layer with the ledger: for every current version of every contract
-- table, the rows in its Parquet file equal the rows the ledger says its version loaded.

with versions as (
    select la_code, table_name, return_period, source_sha256, version_rows_loaded
    from {{ ref('stg_raw__submissions') }}
    where is_current_version
),

raw_rows as (
    {%- for source_node in graph.sources.values()
        if source_node.source_name == 'raw' and source_node.name not in ['submissions', 'findings'] %}
        select '{{ source_node.name }}' as table_name, la_code, return_period, source_sha256, count(*) as raw_rows
        from {{ source('raw', source_node.name) }}
        group by la_code, return_period, source_sha256
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select
    versions.*,
    coalesce(raw_rows.raw_rows, 0) as raw_rows
from versions
left join raw_rows
    on
        raw_rows.table_name = versions.table_name
        and raw_rows.la_code = versions.la_code
        and raw_rows.return_period = versions.return_period
        and raw_rows.source_sha256 = versions.source_sha256
where versions.version_rows_loaded <> coalesce(raw_rows.raw_rows, 0)
