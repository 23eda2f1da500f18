{#
    The SEN2 census date: the third Thursday of January of `year` (an integer SQL expression).
    The first Thursday is 1 January plus (4 - ISO weekday of 1 January) mod 7 days; add 14 days.
    E.g. 2024 → 2024-01-18, 2025 → 2025-01-16.
#}
{% macro census_date(year) -%}
    (make_date(({{ year }})::integer, 1, 1)
        + ((11 - isodow(make_date(({{ year }})::integer, 1, 1))) % 7 + 14)::integer)
{%- endmacro %}
