{#-
  The columns of a model that must never be null, checked in one query (one dbt node and one Dagster
  check a model, instead of one a column: dbt spends about 50 ms a node). Fails with a row per column
  that has nulls, naming it; the failure count is the number of null values.
-#}
{% test not_null_columns(model, columns) %}
{{ config(fail_calc='coalesce(sum(null_values), 0)') }}
select column_name, null_values
from (
    select
    {%- for column in columns %}
        count(*) filter (where {{ adapter.quote(column) }} is null) as {{ adapter.quote(column) }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
) unpivot (null_values for column_name in ({% for column in columns %}{{ adapter.quote(column) }}{{ ", " if not loop.last }}{% endfor %}))
where null_values > 0
{% endtest %}
