{#
    Generic test: every non-null value of `column_name` matches `regex` (anchor it with ^ and $ to
    match the whole value). Fails with the rows that do not.
#}
{% test matches_regex(model, column_name, regex) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null and not ({{ regex_matches(column_name, regex) }})
{% endtest %}
