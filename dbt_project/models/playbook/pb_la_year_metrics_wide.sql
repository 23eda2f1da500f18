-- pb_la_year_metrics pivoted: one row per LA and year, one column per metric of the returns, in
-- catalogue order. The columns come from pb_metric_catalogue when the model runs (before the
-- catalogue exists, e.g. `dbt compile` on a fresh warehouse, the compiled SQL has only the keys).
-- depends_on: {{ ref('pb_metric_catalogue') }}

{% set catalogue = load_relation(ref('pb_metric_catalogue')) if execute else none %}
{% set metrics = [] %}
{% if catalogue is not none %}
    {% set query %}
        select metric from {{ catalogue }} where source = 'returns' order by sort_order
    {% endset %}
    {% set metrics = run_query(query).columns[0].values() %}
{% endif %}

select
    la_code,
    year
{%- for metric in metrics %},
    max(value) filter (where metric = '{{ metric }}') as {{ metric }}
    {%- endfor %}
from {{ ref('pb_la_year_metrics') }}
group by la_code, year
order by la_code, year
