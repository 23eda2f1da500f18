-- pb_la_year_metrics pivoted: one row per LA and year, one column per metric (catalogue order).

{% set metrics_query %}
    select metric from {{ ref('pb_metric_catalogue') }} where source = 'returns' order by sort_order
{% endset %}
{% set metrics = run_query(metrics_query).columns[0].values() if execute else [] %}

select *
from (
    pivot (select la_code, year, metric, value from {{ ref('pb_la_year_metrics') }})
    on metric in ({% for metric in metrics %}'{{ metric }}'{% if not loop.last %}, {% endif %}{% endfor %})
    using first(value)
    group by la_code, year
)
order by la_code, year
