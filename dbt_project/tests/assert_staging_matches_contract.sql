{{ config(
    meta={'dagster': {
        'ref': {'name': 'stg_raw__placements'},
        'description': 'Every contract column is in its staging model with the contract type'
    }}
) }}
-- Every column of every contract table is in stg_raw__<table> with the contract's SQL type.
-- depends_on: {{ ref('stg_raw__placements') }}
-- depends_on: {{ ref('stg_raw__hnb_spend') }}
-- depends_on: {{ ref('stg_raw__dsg_plan') }}
-- depends_on: {{ ref('stg_raw__mitigations') }}

{%- set staged = [] %}
{%- if execute %}
    {%- for table in ['placements', 'hnb_spend', 'dsg_plan', 'mitigations'] %}
        {%- for column in adapter.get_columns_in_relation(ref('stg_raw__' ~ table)) %}
            {%- do staged.append(('stg_raw__' ~ table, column.name, contract_sql_type(column.dtype))) %}
        {%- endfor %}
    {%- endfor %}
{%- endif %}

with staged_columns as (
    select table_name, column_name, data_type
    from (values
        {%- for table_name, column_name, data_type in staged or [('', '', '')] %}
        ('{{ table_name }}', '{{ column_name }}', '{{ data_type }}'){{ ',' if not loop.last }}
        {%- endfor %}
    ) as staged (table_name, column_name, data_type)
)

select
    contract.table_name,
    contract.column_name,
    contract.sql_type,
    staged_columns.data_type
from {{ ref('contract_columns') }} as contract
left join staged_columns
    on staged_columns.table_name = 'stg_raw__' || contract.table_name
    and staged_columns.column_name = contract.column_name
where staged_columns.data_type is distinct from contract.sql_type
