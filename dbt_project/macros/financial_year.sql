{#
    Financial-year helpers. A financial year runs 1 April to 31 March and is written `YYYY-YY`
    (e.g. `2024-25` = 1 April 2024 to 31 March 2025).
#}

{# The calendar year the financial year starts in (`2024-25` → 2024). #}
{% macro fy_start_year(financial_year) -%}
    (left({{ financial_year }}, 4)::integer)
{%- endmacro %}

{# 31 March of the following year: the last day of the financial year. #}
{% macro fy_end_date(financial_year) -%}
    make_date({{ fy_start_year(financial_year) }} + 1, 3, 31)
{%- endmacro %}
