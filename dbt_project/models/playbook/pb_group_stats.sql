-- Distribution of each metric and year in each comparison group: England (every LA with data),
-- each programme (DBV, SAFETY_VALVE, NONE) and each DBV tranche. Quantiles interpolate linearly
-- (quantile_cont), like pandas' median and quantile.

with memberships as (
    select * from {{ ref('pb_la_groups') }}
),

metrics as (
    select * from {{ ref('pb_la_year_metrics') }}
)

select
    memberships.group_type,
    memberships.group_code,
    memberships.group_label,
    metrics.metric,
    metrics.year,
    count(*) as n_las,
    {{ quantile_cont('metrics.value', 0.5) }} as median,
    {{ quantile_cont('metrics.value', 0.25) }} as p25,
    {{ quantile_cont('metrics.value', 0.75) }} as p75,
    {{ quantile_cont('metrics.value', 0.75) }} - {{ quantile_cont('metrics.value', 0.25) }} as iqr,
    avg(metrics.value) as mean,
    min(metrics.value) as min,
    max(metrics.value) as max
from metrics
inner join memberships
    on memberships.la_code = metrics.la_code
group by all
