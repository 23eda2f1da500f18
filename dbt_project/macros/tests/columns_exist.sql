{#
    Generic test: the model has every column of `columns` (names compared case-insensitively).
    Fails with a row per missing column, naming it.
#}
{% test columns_exist(model, columns) %}
{%- set missing = [] -%}
{%- if execute -%}
    {%- set present = adapter.get_columns_in_relation(model) | map(attribute='name') | map('lower') | list -%}
    {%- for column in columns if column | lower not in present -%}
        {%- do missing.append(column) -%}
    {%- endfor -%}
{%- endif %}
{%- for column in missing %}
select '{{ column }}' as column_name
union all
{%- endfor %}
select column_name from (select cast(null as {{ dbt.type_string() }}) as column_name) as none_missing
where column_name is not null
{% endtest %}
