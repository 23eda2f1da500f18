{#
    Generic test: `expression` (SQL over the model's columns) holds on every row. Fails with the
    rows where it does not.
#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
