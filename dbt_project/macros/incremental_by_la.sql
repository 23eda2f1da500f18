{#
    Incremental builds per LA (docs/warehouse.md). The placements chain (staging, intermediate,
    census and flow marts) is built with

        {{ config(**incremental_by_la()) }}

    (DuckDB: delete+insert on la_code; Spark: insert_overwrite of the model's la_code partitions)

    Each row carries `source_sha256`, the LA's placements version it was built from, and an
    incremental run rebuilds only the LAs whose version upstream is not the one the model holds.
    A full build (first run, or `dbt build --full-refresh`) rebuilds every LA: run one after
    changing these models' SQL or var('first_census_year').
#}

{# The config of a model built per LA, for the target's engine. #}
{% macro incremental_by_la() -%}
    {{ return(adapter.dispatch('incremental_by_la', 'dbv')()) }}
{%- endmacro %}
{% macro default__incremental_by_la() -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'delete+insert', 'unique_key': 'la_code'}) }}
{%- endmacro %}
{# Spark: a Parquet table partitioned by LA; a build overwrites the partitions of the LAs it selects (dynamic). #}
{% macro spark__incremental_by_la() -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'insert_overwrite', 'partition_by': ['la_code'],
               'file_format': 'parquet'}) }}
{%- endmacro %}

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
