-- One sentence per LA, metric and year joining its benchmark phrases in a fixed order (programme
-- cohort, tranche, England, neighbours), e.g. "MSS unit cost: top 20% of the DBV cohort, top 40% of
-- DBV tranche 1, top 20% in England, highest of its neighbours".

select
    la_code,
    year,
    metric,
    metric_label || ': ' || {{ string_agg_ordered('phrase', "', '", 'group_order') }} as label
from {{ ref('pb_benchmarks') }}
group by la_code, year, metric, metric_label
