{#
    Version rules of the raw layer (spec §1, docs/raw_layer.md), shared by the staging models.
#}

{# Rows of every current version (one per LA, table and return period) of raw table `table_name`. #}
{% macro current_version_rows(table_name) %}
    select version_rows.*
    from {{ source('raw', table_name) }} as version_rows
    inner join {{ ref('stg_raw__submissions') }} as versions
        on versions.is_current_version
        and versions.table_name = '{{ table_name }}'
        and version_rows.la_code = versions.la_code
        and version_rows.return_period = versions.return_period
        and version_rows.source_sha256 = versions.source_sha256
{% endmacro %}

{#
    For tables that repeat years across returns (hnb_spend, dsg_plan, mitigations): for each LA and
    financial year, the rows of the most recent return period whose current version holds that year.
#}
{% macro latest_period_rows_per_year(table_name) %}
    with current_rows as (
        {{ current_version_rows(table_name) }}
    ),

    latest_period as (
        select la_code, financial_year, max(return_period) as return_period
        from current_rows
        group by la_code, financial_year
    )

    select current_rows.*
    from current_rows
    inner join latest_period
        on current_rows.la_code = latest_period.la_code
        and current_rows.financial_year = latest_period.financial_year
        and current_rows.return_period = latest_period.return_period
{% endmacro %}
