-- Each LA's position for every metric and year against its statistical neighbours, its programme
-- cohort (the DBV cohort for DBV LAs), its DBV tranche and England: rank (1 = highest value),
-- percentile (percent_rank, 0 = lowest, 100 = highest), the comparison median and a plain-English
-- phrase. "Top" and "bottom" describe the value, not performance.

with metrics as (
    select * from {{ ref('pb_la_year_metrics') }}
),

groups as (
    select * from {{ ref('pb_la_groups') }}
),

{%- set group_window = 'partition by groups.group_code, metrics.metric, metrics.year' %}

group_ranks as (
    select
        metrics.la_code,
        metrics.year,
        metrics.metric,
        metrics.value,
        groups.group_type as comparison,
        groups.group_code,
        groups.group_label,
        groups.group_name,
        groups.group_phrase,
        groups.group_order,
        count(*) over ({{ group_window }}) as n_las,
        count(*) over ({{ group_window }}, metrics.value) as n_tied,
        rank() over ({{ group_window }} order by metrics.value desc) as rank,
        percent_rank() over ({{ group_window }} order by metrics.value) as percent_rank,
        {{ quantile_cont('metrics.value', 0.5) }} over ({{ group_window }}) as comparison_median,
        min(metrics.value) over ({{ group_window }}) = max(metrics.value) over ({{ group_window }}) as all_level
    from metrics
    inner join groups
        on groups.la_code = metrics.la_code
),

-- Each LA's neighbour set: itself and its statistical neighbours.
neighbour_sets as (
    select la_code, neighbour_la_code as member_la_code
    from {{ ref('dim_statistical_neighbours') }}
    union all
    select distinct la_code, la_code
    from metrics
),

{%- set neighbour_window = 'partition by neighbour_sets.la_code, metrics.metric, metrics.year' %}

neighbour_windows as (
    select
        neighbour_sets.la_code,
        metrics.la_code as member_la_code,
        metrics.year,
        metrics.metric,
        metrics.value,
        count(*) over ({{ neighbour_window }}) as n_las,
        count(*) over ({{ neighbour_window }}, metrics.value) as n_tied,
        rank() over ({{ neighbour_window }} order by metrics.value desc) as rank,
        percent_rank() over ({{ neighbour_window }} order by metrics.value) as percent_rank,
        {{ quantile_cont('case when metrics.la_code <> neighbour_sets.la_code then metrics.value end', 0.5) }}
            over ({{ neighbour_window }}) as comparison_median,
        min(metrics.value) over ({{ neighbour_window }}) = max(metrics.value) over ({{ neighbour_window }}) as all_level
    from neighbour_sets
    inner join metrics
        on metrics.la_code = neighbour_sets.member_la_code
),

neighbour_ranks as (
    select
        la_code, year, metric, value,
        'NEIGHBOURS' as comparison,
        'NEIGHBOURS' as group_code,
        'Statistical neighbours' as group_label,
        'its neighbours' as group_name,
        'of its neighbours' as group_phrase,
        4 as group_order,
        n_las, n_tied, rank, percent_rank, comparison_median, all_level
    from neighbour_windows
    where member_la_code = la_code
),

ranked as (
    select
        la_code, year, metric, value, comparison, group_code, group_label, group_name, group_phrase,
        group_order, n_las, n_tied, rank, percent_rank, comparison_median, all_level
    from group_ranks
    union all
    select * from neighbour_ranks
),

phrased as (
    select
        *,
        rank || case
            when rank % 100 in (11, 12, 13) then 'th'
            when rank % 10 = 1 then 'st'
            when rank % 10 = 2 then 'nd'
            when rank % 10 = 3 then 'rd'
            else 'th'
        end as rank_ordinal,
        case when n_tied > 1 then 'joint ' else '' end as joint
    from ranked
)

select
    phrased.la_code,
    phrased.year,
    phrased.metric,
    catalogue.label as metric_label,
    phrased.value,
    phrased.comparison,
    phrased.group_code,
    phrased.group_label,
    phrased.group_order,
    phrased.n_las,
    phrased.rank,
    100.0 * phrased.percent_rank as percentile,
    phrased.comparison_median,
    case
        when phrased.n_las = 1 and phrased.comparison = 'NEIGHBOURS' then 'no neighbour with data'
        when phrased.n_las = 1 then 'only LA with data among ' || phrased.group_name
        when phrased.all_level then 'level with the rest of ' || phrased.group_name
        when phrased.rank = 1 then phrased.joint || 'highest ' || phrased.group_phrase
        when phrased.percent_rank = 0 then phrased.joint || 'lowest ' || phrased.group_phrase
        when phrased.comparison = 'NEIGHBOURS'
            then phrased.joint || phrased.rank_ordinal || ' highest of ' || phrased.n_las || ' with its neighbours'
        when phrased.percent_rank >= 0.8 then 'top 20% ' || phrased.group_phrase
        when phrased.percent_rank >= 0.6 then 'top 40% ' || phrased.group_phrase
        when phrased.percent_rank > 0.4 then 'middle ' || phrased.group_phrase
        when phrased.percent_rank > 0.2 then 'bottom 40% ' || phrased.group_phrase
        else 'bottom 20% ' || phrased.group_phrase
    end as phrase
from phrased
left join {{ ref('pb_metric_catalogue') }} as catalogue
    on catalogue.metric = phrased.metric
