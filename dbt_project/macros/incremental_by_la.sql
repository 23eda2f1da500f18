{#
    Incremental builds per LA (docs/warehouse.md). The placements chain (staging, intermediate,
    census and flow marts) is built with

        config(materialized='incremental', incremental_strategy='delete+insert', unique_key='la_code')

    Each row carries `source_sha256`, the LA's placements version it was built from, and an
    incremental run rebuilds only the LAs whose version upstream is not the one the model holds.
    A full build (first run, or `dbt build --full-refresh`) rebuilds every LA: run one after
    changing these models' SQL or var('first_census_year').
#}

{#
    On an incremental run, a filter keeping only the LAs (`la_column`) whose version in `versions`
    (a relation or CTE with la_code and source_sha256) is not the one this model holds; nothing on
    a full build.
#}
{% macro where_la_is_stale(la_column, versions) -%}
    {%- if is_incremental() %}
    where {{ la_column }} in (
        select versions.la_code
        from (select distinct la_code, source_sha256 from {{ versions }}) as versions
        where not exists (
            select 1 from {{ this }} as built
            where built.la_code = versions.la_code and built.source_sha256 = versions.source_sha256
        )
    )
    {%- endif %}
{%- endmacro %}
