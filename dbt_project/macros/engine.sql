{#
    Where DuckDB and Spark SQL differ (docs/warehouse.md, "Engines"). Each macro is dispatched on
    the target's adapter: `default__` is DuckDB's SQL, `spark__` Spark SQL's (dbt-spark, and
    dbt-databricks, which dispatches to spark__ too). Models call these, never engine SQL of their own.
#}

{# The value of `value` at the row with the largest `order_by`, null if that row's value is null. #}
{% macro arg_max_null(value, order_by) -%}
    {{ return(adapter.dispatch('arg_max_null', 'dbv')(value, order_by)) }}
{%- endmacro %}
{% macro default__arg_max_null(value, order_by) -%} arg_max_null({{ value }}, {{ order_by }}) {%- endmacro %}
{% macro spark__arg_max_null(value, order_by) -%} max_by({{ value }}, {{ order_by }}) {%- endmacro %}

{# The value of `value` at the row with the smallest `order_by`, null if that row's value is null. #}
{% macro arg_min_null(value, order_by) -%}
    {{ return(adapter.dispatch('arg_min_null', 'dbv')(value, order_by)) }}
{%- endmacro %}
{% macro default__arg_min_null(value, order_by) -%} arg_min_null({{ value }}, {{ order_by }}) {%- endmacro %}
{% macro spark__arg_min_null(value, order_by) -%} min_by({{ value }}, {{ order_by }}) {%- endmacro %}

{# The non-null `value` at the row with the largest `order_by` among rows where both are non-null. #}
{% macro arg_max(value, order_by) -%}
    {{ return(adapter.dispatch('arg_max', 'dbv')(value, order_by)) }}
{%- endmacro %}
{% macro default__arg_max(value, order_by) -%} arg_max({{ value }}, {{ order_by }}) {%- endmacro %}
{% macro spark__arg_max(value, order_by) -%}
    max_by({{ value }}, case when {{ value }} is not null then {{ order_by }} end)
{%- endmacro %}

{# Continuous (linearly interpolated) quantile `q` of `value`, nulls ignored; also as a window function. #}
{% macro quantile_cont(value, q) -%}
    {{ return(adapter.dispatch('quantile_cont', 'dbv')(value, q)) }}
{%- endmacro %}
{% macro default__quantile_cont(value, q) -%} quantile_cont({{ value }}, {{ q }}) {%- endmacro %}
{% macro spark__quantile_cont(value, q) -%} percentile({{ value }}, {{ q }}) {%- endmacro %}

{# The non-null `value`s joined by `separator` in the order of `order_by` (an aggregate). #}
{% macro string_agg_ordered(value, separator, order_by) -%}
    {{ return(adapter.dispatch('string_agg_ordered', 'dbv')(value, separator, order_by)) }}
{%- endmacro %}
{% macro default__string_agg_ordered(value, separator, order_by) -%}
    string_agg({{ value }}, {{ separator }} order by {{ order_by }})
{%- endmacro %}
{% macro spark__string_agg_ordered(value, separator, order_by) -%}
    array_join(transform(array_sort(collect_list(named_struct('k', {{ order_by }}, 'v', {{ value }}))), s -> s.v), {{ separator }})
{%- endmacro %}

{# One row per integer from `start` to `stop` - 1 (none if stop <= start): a select-list generator. #}
{% macro unnest_range(start, stop) -%}
    {{ return(adapter.dispatch('unnest_range', 'dbv')(start, stop)) }}
{%- endmacro %}
{% macro default__unnest_range(start, stop) -%} unnest(range({{ start }}, {{ stop }})) {%- endmacro %}
{% macro spark__unnest_range(start, stop) -%}
    explode(filter(sequence({{ start }}, greatest({{ start }}, {{ stop }} - 1)), y -> y < {{ stop }}))
{%- endmacro %}

{# ISO day of the week of a date: 1 = Monday … 7 = Sunday. #}
{% macro isodow(on_date) -%}
    {{ return(adapter.dispatch('isodow', 'dbv')(on_date)) }}
{%- endmacro %}
{% macro default__isodow(on_date) -%} isodow({{ on_date }}) {%- endmacro %}
{% macro spark__isodow(on_date) -%} (weekday({{ on_date }}) + 1) {%- endmacro %}

{# A column's type as the contract writes it (VARCHAR, DATE, DECIMAL(18,2)), from the engine's name for it. #}
{% macro contract_sql_type(data_type) -%}
    {{ return(adapter.dispatch('contract_sql_type', 'dbv')(data_type)) }}
{%- endmacro %}
{% macro default__contract_sql_type(data_type) -%} {{ return(data_type) }} {%- endmacro %}
{% macro spark__contract_sql_type(data_type) -%}
    {{ return('VARCHAR' if data_type | lower == 'string' else data_type | upper) }}
{%- endmacro %}

{# Whether `value` matches the regular expression `pattern` (a string literal, unanchored: anchor it with ^ and $). #}
{% macro regex_matches(value, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'dbv')(value, pattern)) }}
{%- endmacro %}
{% macro default__regex_matches(value, pattern) -%} regexp_matches({{ value }}, '{{ pattern }}') {%- endmacro %}
{% macro spark__regex_matches(value, pattern) -%} {{ value }} rlike '{{ pattern }}' {%- endmacro %}
