{#
    Generic test: no value of `column_name` is below `min_value` (null passes: blanks are
    not_null_columns' to check). Fails with the rows below it.
#}
{% test at_least(model, column_name, min_value) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < {{ min_value }}
{% endtest %}
