{#
    DSG management plan age groups (the contract's `age_group` code list). Age is taken on
    31 August before the academic year: for a date in the academic year starting September Y
    (i.e. September Y to August Y+1), that is 31 August Y.
#}

{# 31 August before the academic year that contains `on_date`. #}
{% macro academic_year_age_date(on_date) -%}
    make_date(year({{ on_date }}) - case when month({{ on_date }}) >= 9 then 0 else 1 end, 8, 31)
{%- endmacro %}

{# Age in whole years on `on_date` (negative if born after it). #}
{% macro age_in_years(date_of_birth, on_date) -%}
    (year({{ on_date }}) - year({{ date_of_birth }})
        - case when month({{ date_of_birth }}) * 100 + day({{ date_of_birth }})
                    > month({{ on_date }}) * 100 + day({{ on_date }}) then 1 else 0 end)
{%- endmacro %}

{#
    Age group code for a child of `age` (an integer SQL expression: the age on 31 August before
    the academic year, age_in_years(date_of_birth, academic_year_age_date(on_date))). Children not
    yet born then count as UNDER_5; ages over 25 (a plan that should have ceased) count as
    AGE_20_25 and are flagged by the test assert_census_ages_within_0_to_25.
#}
{% macro dsg_age_group(age) -%}
    case
        when {{ age }} < 5 then 'UNDER_5'
        when {{ age }} <= 10 then 'AGE_5_10'
        when {{ age }} <= 15 then 'AGE_11_15'
        when {{ age }} <= 19 then 'AGE_16_19'
        else 'AGE_20_25'
    end
{%- endmacro %}
