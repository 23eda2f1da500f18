{#
    The area of a row of DfE's public data: `area_code` is the 3-digit LA code (DfE's old_la_code) for an LA,
    the region code for a region and the country code for England; `area_name` likewise.
#}
{% macro public_area_columns() %}
    case geographic_level
        when 'Local authority' then old_la_code
        when 'Regional' then region_code
        else country_code
    end as area_code,
    case geographic_level
        when 'Local authority' then la_name
        when 'Regional' then region_name
        else country_name
    end as area_name
{%- endmacro %}

{#
    The columns that identify a row of DfE's public data (area and period), in the same order in
    every public staging model, renamed to the warehouse's names (DfE's old_la_code → la_code,
    new_la_code → ons_la_code); `calendar_year` for the tables counted over a calendar year.
#}
{% macro public_key_columns(calendar_year=false) %}
    geographic_level,
    {{ public_area_columns() }},
    region_code,
    region_name,
    old_la_code as la_code,
    new_la_code as ons_la_code,
    la_name,
    time_period,
    {%- if calendar_year %}
    calendar_year,
    {%- endif %}
    census_year
{%- endmacro %}
