{#
    The area of a row of DfE's public data: `area_code` is the 3-digit old_la_code for an LA,
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
