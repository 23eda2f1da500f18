{#
    Seeds on Spark, written as SQL literals. dbt-spark's session method binds every value as '<value>'
    unescaped: a quote in a label breaks the insert and an empty cell loads as the string 'None'. This
    override (dbt takes the root project's spark__load_csv_rows) writes nulls as null, escapes quotes and
    skips blank lines (as dbt-duckdb's CSV reader does; agate reads one as a row of nulls).
#}
{% macro spark__load_csv_rows(model, agate_table) %}
  {% set column_override = model['config'].get('column_types', {}) %}
  {% set statements = [] %}
  {% set rows = [] %}
  {% for row in agate_table.rows if row | reject('none') | list | length %}{% do rows.append(row) %}{% endfor %}
  {% for chunk in rows | batch(get_batch_size()) %}
      {% set sql %}
          insert into {{ this.render() }} values
          {% for row in chunk -%}
              ({%- for col_name in agate_table.column_names -%}
                  {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
                  {%- set value = row[loop.index0] -%}
                  {%- if value is none -%} cast(null as {{ type }})
                  {%- else -%} cast('{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}' as {{ type }})
                  {%- endif -%}
                  {%- if not loop.last %},{% endif %}
              {%- endfor -%})
              {%- if not loop.last %},{% endif %}
          {%- endfor %}
      {% endset %}
      {% do adapter.add_query(sql, abridge_sql_log=True) %}
      {% if loop.index0 == 0 %}{% do statements.append(sql) %}{% endif %}
  {% endfor %}
  {{ return(statements[0]) }}
{% endmacro %}
