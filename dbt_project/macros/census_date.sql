{#
    The SEN2 census date: the third Thursday of January of `year` (an integer SQL expression).
    The first Thursday is 1 January plus (4 - ISO weekday of 1 January) mod 7 days; add 14 days.
    E.g. 2024 → 2024-01-18, 2025 → 2025-01-16.
#}
{% macro census_date(year) -%}
    (make_date(({{ year }})::integer, 1, 1)
        + ((11 - {{ isodow('make_date((' ~ year ~ ')::integer, 1, 1)') }}) % 7 + 14)::integer)
{%- endmacro %}

{# The year of the first census on or after `on_date` (a date SQL expression). #}
{% macro first_census_year_from(on_date) -%}
    (year({{ on_date }}) + case when {{ on_date }} > {{ census_date('year(' ~ on_date ~ ')') }} then 1 else 0 end)
{%- endmacro %}

{# The year of the last census on or before `on_date`. #}
{% macro last_census_year_to(on_date) -%}
    (year({{ on_date }}) - case when {{ on_date }} < {{ census_date('year(' ~ on_date ~ ')') }} then 1 else 0 end)
{%- endmacro %}

{#
    The census years from `start_date` to `end_date` (null: open) a spell or plan is active at,
    from var('first_census_year') to `latest_year`: a select-list generator, one row a year.
#}
{% macro census_years_between(start_date, end_date, latest_year) -%}
    {{ unnest_range(
        'greatest(' ~ var('first_census_year') ~ ', ' ~ first_census_year_from(start_date) ~ ')',
        'least(' ~ latest_year ~ ', coalesce(' ~ last_census_year_to(end_date) ~ ', ' ~ latest_year ~ ')) + 1'
    ) }}
{%- endmacro %}
