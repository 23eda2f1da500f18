{#
    The sources (raw layer, public data) as the target's engine reads them. DuckDB reads the Parquet
    files in place (each source's meta `external_location`, dbt-duckdb); Spark gets, at the start of
    every run (on-run-start), one view a source over the same files: meta `spark_location` (a glob;
    schemas merged by column name) with meta `spark_columns` (file metadata, e.g. the file name).
#}
{% macro create_source_views() -%}
    {{ return(adapter.dispatch('create_source_views', 'dbv')()) }}
{%- endmacro %}

{% macro default__create_source_views() -%}
{%- endmacro %}

{% macro spark__create_source_views() -%}
    {%- if execute %}
    {%- for source in graph.sources.values() if (source.config.meta or source.meta).get('spark_location') %}
        {%- do run_query('create database if not exists ' ~ source.schema) %}
        {%- set meta = source.config.meta or source.meta %}
        {%- set location = meta['spark_location'].replace('{name}', source.name) %}
        {%- set extra = meta.get('spark_columns') %}
        {%- do run_query('create or replace view ' ~ source.schema ~ '.' ~ source.identifier ~ ' as select *'
                         ~ (', ' ~ extra if extra else '') ~ ' from parquet.`' ~ location ~ '`') %}
    {%- endfor %}
    {%- endif %}
    select 1
{%- endmacro %}
